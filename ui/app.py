"""The web app's entry point: ``streamlit run ui/app.py`` (``reelstream ui`` does it)."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# ``streamlit run`` puts this folder, not the repository, on sys.path.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

st.set_page_config(page_title="reelstream", page_icon=":material/movie:", layout="wide")

PAGES = Path(__file__).parent / "pages"
navigation = st.navigation(
    [
        st.Page(PAGES / "for_you.py", title="For you", icon=":material/movie:", url_path="for-you", default=True),
        st.Page(PAGES / "movies.py", title="Movies", icon=":material/search:", url_path="movies"),
        st.Page(PAGES / "popular.py", title="Popular now", icon=":material/local_fire_department:", url_path="popular"),
        st.Page(PAGES / "live.py", title="Live stream", icon=":material/monitoring:", url_path="live"),
        st.Page(PAGES / "models.py", title="Models", icon=":material/science:", url_path="models"),
    ]
)
navigation.run()
