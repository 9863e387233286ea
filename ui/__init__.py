"""The reelstream web app (Streamlit): a thin adapter over the HTTP API (``ui.client``)."""
