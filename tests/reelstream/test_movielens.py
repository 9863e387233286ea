"""MovieLens loaders and fetch, on small generated files (never the real dataset)."""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from reelstream.cli import app
from reelstream.movielens import (
    DATASETS,
    DatasetError,
    detect,
    fetch,
    load,
    load_movies,
    load_ratings,
    parse_md5_file,
    resolve_dataset,
    split_title,
)

RATINGS_CSV = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n2,1,0.5,1445714994\n"
MOVIES_CSV = (
    "movieId,title,genres\n"
    "1,Toy Story (1995),Adventure|Animation|Children\n"
    '3,"City of Lost Children, The (Cité des enfants perdus, La) (1995)",Drama|Mystery\n'
    "7,Babylon 5,(no genres listed)\n"
)
U_DATA = "196\t242\t3\t881250949\n186\t302\t3\t891717742\n"
U_ITEM_FLAGS = {
    242: "0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0",  # Comedy
    302: "0|0|0|0|0|0|1|0|0|0|1|0|0|1|0|0|1|0|0",  # Crime, Film-Noir, Mystery, Thriller
    267: "1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0",  # unknown
}
U_ITEM = (
    f"242|Kolya (1996)|24-Jan-1997||http://x|{U_ITEM_FLAGS[242]}\n"
    f"302|L.A. Confidential (1997)|01-Jan-1997||http://x|{U_ITEM_FLAGS[302]}\n"
    f"267|unknown|||http://x|{U_ITEM_FLAGS[267]}\n"
    f"300|Air Force One|01-Jan-1997||http://x|{U_ITEM_FLAGS[242]}\n"
)
RATINGS_DAT = "1::1193::5::978300760\n1::661::3::978302109\n"
MOVIES_DAT = "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"


def _write(folder: Path, files: dict[str, str | bytes], encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content if isinstance(content, bytes) else content.encode(encoding)
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def csv_dir(tmp_path: Path) -> Path:
    return _write(tmp_path / "ml-latest-small", {"ratings.csv": RATINGS_CSV, "movies.csv": MOVIES_CSV})


@pytest.fixture
def ml100k_dir(tmp_path: Path) -> Path:
    return _write(tmp_path / "ml-100k", {"u.data": U_DATA, "u.item": U_ITEM}, "latin-1")


@pytest.fixture
def ml1m_dir(tmp_path: Path) -> Path:
    return _write(tmp_path / "ml-1m", {"ratings.dat": RATINGS_DAT, "movies.dat": MOVIES_DAT}, "latin-1")


# --- loading every layout ----------------------------------------------------------------


def _check_rating_dtypes(ratings: pd.DataFrame) -> None:
    assert list(ratings.columns) == ["user_id", "movie_id", "rating", "timestamp"]
    assert [str(t) for t in ratings.dtypes] == ["int32", "int32", "float32", "int64"]


def test_csv_layout(csv_dir):
    data = load(csv_dir)
    assert data.layout.name == "csv" and data.path == csv_dir
    _check_rating_dtypes(data.ratings)
    assert data.ratings.values.tolist() == [
        [1, 1, 4.0, 964982703],
        [1, 3, 4.5, 964981247],
        [2, 1, 0.5, 1445714994],
    ]
    movies = data.movies
    assert list(movies.columns) == ["movie_id", "title", "genres", "year"]
    assert movies.to_dict("records") == [
        {"movie_id": 1, "title": "Toy Story", "genres": ["Adventure", "Animation", "Children"], "year": 1995},
        {
            "movie_id": 3,
            "title": "City of Lost Children, The (Cité des enfants perdus, La)",
            "genres": ["Drama", "Mystery"],
            "year": 1995,
        },
        {"movie_id": 7, "title": "Babylon 5", "genres": [], "year": None},
    ]


def test_ml100k_layout(ml100k_dir):
    data = load(ml100k_dir)
    assert data.layout.name == "ml-100k"
    _check_rating_dtypes(data.ratings)
    assert data.ratings.values.tolist() == [[196, 242, 3.0, 881250949], [186, 302, 3.0, 891717742]]
    movies = data.movies.set_index("movie_id")
    assert movies.loc[242, "title"] == "Kolya" and movies.loc[242, "year"] == 1996
    assert movies.loc[242, "genres"] == ["Comedy"]
    assert movies.loc[302, "genres"] == ["Crime", "Film-Noir", "Mystery", "Thriller"]
    assert movies.loc[267, "genres"] == [] and pd.isna(movies.loc[267, "year"])
    assert movies.loc[300, "year"] == 1997  # no year in the title: from the release date


def test_ml100k_genre_names_come_from_u_genre_when_present(ml100k_dir):
    names = ["unknown", *[f"G{i}" for i in range(1, 19)]]
    (ml100k_dir / "u.genre").write_text("".join(f"{n}|{i}\n" for i, n in enumerate(names)) + "\n")
    assert load_movies(ml100k_dir).set_index("movie_id").loc[242, "genres"] == ["G5"]


def test_ml100k_latin1_titles(tmp_path):
    item = f"1|Cité des enfants perdus, La (1995)|01-Jan-1995||x|{U_ITEM_FLAGS[242]}\n"
    folder = _write(tmp_path / "d", {"u.data": "1\t1\t5\t0\n", "u.item": item}, "latin-1")
    assert load_movies(folder)["title"].tolist() == ["Cité des enfants perdus, La"]


def test_ml1m_layout(ml1m_dir):
    data = load(ml1m_dir)
    assert data.layout.name == "ml-1m"
    _check_rating_dtypes(data.ratings)
    assert data.ratings.values.tolist() == [[1, 1193, 5.0, 978300760], [1, 661, 3.0, 978302109]]
    assert data.movies.to_dict("records")[1] == {
        "movie_id": 661,
        "title": "James and the Giant Peach",
        "genres": ["Animation", "Children's", "Musical"],
        "year": 1996,
    }


def test_detects_a_single_dataset_subfolder(csv_dir):
    folder, layout = detect(csv_dir.parent)
    assert folder == csv_dir and layout.name == "csv"
    assert len(load_ratings(csv_dir.parent)) == 3


def test_folder_without_dataset(tmp_path):
    with pytest.raises(DatasetError, match="no MovieLens dataset found"):
        load(tmp_path)
    with pytest.raises(DatasetError, match="no such folder"):
        load(tmp_path / "missing")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Toy Story (1995)", ("Toy Story", 1995)),
        ("Hyena Road (2016) ", ("Hyena Road", 2016)),
        ("Babylon 5", ("Babylon 5", None)),
        ("Cosmos (1980–)", ("Cosmos", 1980)),
        ("Band of Brothers (2001-2001)", ("Band of Brothers", 2001)),
        ("1984 (1984)", ("1984", 1984)),
        ("(500) Days of Summer (2009)", ("(500) Days of Summer", 2009)),
        ("(2019)", ("(2019)", None)),
    ],
)
def test_split_title(raw, expected):
    assert split_title(raw) == expected


# --- malformed input: the file and the line are named -----------------------------------


def _ratings_csv_with(line17: str) -> str:
    rows = [f"1,{i},4.0,964982703" for i in range(1, 30)]
    rows[15] = line17  # header is line 1, so rows[15] is line 17
    return "userId,movieId,rating,timestamp\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize(
    ("line17", "reason"),
    [
        ("1,16,abc,964982703", "rating 'abc' is not a number"),
        ("1,16,7.0,964982703", "not in 0.5..5.0"),
        ("1,16,3.3,964982703", "not in 0.5..5.0"),
        ("1,16,4.0", "expected 4 fields, found 3"),
        ("1,16,4.0,964982703,9", "expected 4 fields, found 5"),
        ("x,16,4.0,964982703", "user id 'x' is not an integer"),
        ("1,0,4.0,964982703", "movie id 0 is out of range"),
        ("1,16,4.0,", "timestamp '' is not an integer"),
        ("", "empty line"),
    ],
)
def test_malformed_ratings_csv_names_file_and_line(tmp_path, line17, reason):
    folder = _write(tmp_path / "d", {"ratings.csv": _ratings_csv_with(line17), "movies.csv": MOVIES_CSV})
    with pytest.raises(DatasetError) as info:
        load_ratings(folder)
    message = str(info.value)
    assert "ratings.csv, line 17: " in message and reason in message
    assert info.value.line == 17 and info.value.path == folder / "ratings.csv"


def test_ratings_csv_without_header(tmp_path):
    folder = _write(tmp_path / "d", {"ratings.csv": "1,1,4.0,1\n", "movies.csv": MOVIES_CSV})
    with pytest.raises(DatasetError, match=r"ratings.csv, line 1: expected the header"):
        load_ratings(folder)


def test_invalid_utf8_is_reported_with_its_line(tmp_path):
    movies = MOVIES_CSV.encode() + b"9,Caf\xe9 (2001),Drama\n"
    folder = _write(tmp_path / "d", {"ratings.csv": RATINGS_CSV, "movies.csv": movies})
    with pytest.raises(DatasetError, match=r"movies.csv, line 5: not valid utf-8"):
        load_movies(folder)


def test_malformed_u_data(tmp_path):
    folder = _write(tmp_path / "d", {"u.data": U_DATA + "1\t2\tfive\t3\n", "u.item": U_ITEM})
    with pytest.raises(DatasetError, match=r"u.data, line 3: rating 'five' is not a number"):
        load_ratings(folder)


def test_malformed_ratings_dat(tmp_path):
    folder = _write(tmp_path / "d", {"ratings.dat": RATINGS_DAT + "1::2::3\n", "movies.dat": MOVIES_DAT})
    with pytest.raises(DatasetError, match=r"ratings.dat, line 3: expected 4 fields, found 3"):
        load_ratings(folder)


@pytest.mark.parametrize(
    ("files", "pattern"),
    [
        ({"movies.csv": MOVIES_CSV + "x,Bad Id (2000),Drama\n"}, r"movies.csv, line 5: movie id 'x'"),
        ({"movies.csv": MOVIES_CSV + "8,Only Two Fields\n"}, r"movies.csv, line 5: expected 3 fields"),
        ({"movies.csv": MOVIES_CSV + "1,Again (1995),Drama\n"}, r"line 5: movie id 1 already on line 2"),
        ({"movies.csv": "id,name,genres\n"}, r"movies.csv, line 1: expected the header"),
        ({"movies.csv": MOVIES_CSV + '9,"Unclosed (2000),Drama\n'}, r"movies.csv, line \d+: malformed CSV"),
    ],
)
def test_malformed_movies_csv(tmp_path, files, pattern):
    folder = _write(tmp_path / "d", {"ratings.csv": RATINGS_CSV, **files})
    with pytest.raises(DatasetError, match=pattern):
        load_movies(folder)


def test_malformed_u_item(tmp_path):
    bad = U_ITEM + "5|Five (1995)|01-Jan-1995||x|0|2\n"
    folder = _write(tmp_path / "d", {"u.data": U_DATA, "u.item": bad}, "latin-1")
    with pytest.raises(DatasetError, match=r"u.item, line 5: expected 24 '\|'-separated fields"):
        load_movies(folder)
    flags = U_ITEM_FLAGS[242].replace("1", "2")
    folder = _write(tmp_path / "e", {"u.data": U_DATA, "u.item": f"5|Five|||x|{flags}\n"}, "latin-1")
    with pytest.raises(DatasetError, match=r"u.item, line 1: genre flags must be 0 or 1"):
        load_movies(folder)


def test_malformed_movies_dat(tmp_path):
    folder = _write(tmp_path / "d", {"ratings.dat": RATINGS_DAT, "movies.dat": MOVIES_DAT + "2::No Genres\n"})
    with pytest.raises(DatasetError, match=r"movies.dat, line 3: expected 3 '::'-separated fields"):
        load_movies(folder)


# --- fetch ---------------------------------------------------------------------------------


def _zip_dataset(folder: Path, name: str, files: dict[str, str]) -> tuple[Path, str]:
    """Write ``folder/name.zip`` holding ``name/<files>`` (as GroupLens does); return its md5."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = folder / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for file, content in files.items():
            zf.writestr(f"{name}/{file}", content)
    return archive, hashlib.md5(archive.read_bytes()).hexdigest()


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving the folder ``mirror`` (the zips of a test)."""
    root = tmp_path / "mirror"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


CSV_FILES = {"ratings.csv": RATINGS_CSV, "movies.csv": MOVIES_CSV}


def test_fetch_over_http_with_published_md5_file(mirror, tmp_path):
    url, root = mirror
    archive, md5 = _zip_dataset(root, "ml-latest-small", CSV_FILES)
    (root / "ml-latest-small.zip.md5").write_text(f"MD5 (ml-latest-small.zip) = {md5}\n")
    assert DATASETS["ml-latest-small"] is None  # so the .md5 beside the zip is used

    dest = tmp_path / "raw"
    folder = fetch("ml-latest-small", dest, base_url=url, progress=False)
    assert folder == dest / "ml-latest-small"
    assert len(load(folder).ratings) == 3
    assert sorted(p.name for p in dest.iterdir()) == ["ml-latest-small"]  # no leftovers

    archive.unlink()  # already there: returned without downloading again
    assert fetch("ml-latest-small", dest, base_url=url, progress=False) == folder


def test_fetch_with_wrong_checksum_leaves_nothing(mirror, tmp_path):
    url, root = mirror
    _zip_dataset(root, "ml-latest-small", CSV_FILES)
    (root / "ml-latest-small.zip.md5").write_text("MD5 (ml-latest-small.zip) = " + "0" * 32)
    dest = tmp_path / "raw"
    with pytest.raises(DatasetError, match="checksum mismatch .* expected MD5 0{32}, got [0-9a-f]{32}"):
        fetch("ml-latest-small", dest, base_url=url, progress=False)
    assert list(dest.iterdir()) == []


def test_fetch_pinned_checksum_is_enforced(mirror, tmp_path):
    url, root = mirror
    _zip_dataset(root, "ml-1m", {"ratings.dat": RATINGS_DAT, "movies.dat": MOVIES_DAT})
    # our zip is not GroupLens' ml-1m, so the pinned published MD5 must refuse it
    with pytest.raises(DatasetError, match=f"expected MD5 {DATASETS['ml-1m']}"):
        fetch("ml-1m", tmp_path / "raw", base_url=url, progress=False)
    assert list((tmp_path / "raw").iterdir()) == []


def test_fetch_from_file_url_with_explicit_md5(tmp_path):
    archive, md5 = _zip_dataset(tmp_path / "zips", "ml-100k", {"u.data": U_DATA, "u.item": U_ITEM})
    folder = fetch("ml-100k", tmp_path / "raw", base_url=archive.parent.as_uri(), md5=md5, progress=False)
    assert load(folder).layout.name == "ml-100k"


def test_fetch_refuses_a_zip_without_a_dataset(tmp_path):
    archive, md5 = _zip_dataset(tmp_path / "zips", "ml-100k", {"README": "nothing here"})
    with pytest.raises(DatasetError, match="no MovieLens dataset found"):
        fetch("ml-100k", tmp_path / "raw", base_url=archive.parent.as_uri(), md5=md5, progress=False)
    assert list((tmp_path / "raw").iterdir()) == []


def test_fetch_errors(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset 'ml-2m'"):
        fetch("ml-2m", tmp_path)
    with pytest.raises(DatasetError, match="download of .* failed"):
        fetch("ml-100k", tmp_path / "raw", base_url=(tmp_path / "nowhere").as_uri(), progress=False)
    with pytest.raises(DatasetError, match="cannot read the published checksum"):
        fetch("ml-latest-small", tmp_path / "raw", base_url=(tmp_path / "nowhere").as_uri())


def test_parse_md5_file():
    digest = "c4d9eecfca2ab87c1945afe126590906"
    assert parse_md5_file(f"MD5 (ml-1m.zip) = {digest}\n") == digest
    assert parse_md5_file(f"{digest.upper()}  ml-1m.zip\n") == digest
    with pytest.raises(ValueError):
        parse_md5_file("not a checksum")


def test_resolve_dataset_prefers_a_local_copy(csv_dir, tmp_path):
    assert resolve_dataset("ml-latest-small", path=csv_dir) == csv_dir

    class FakeSettings:  # only the two attributes resolve_dataset reads
        movielens_path = csv_dir.parent
        data_dir = tmp_path / "unused"

    assert resolve_dataset("ml-latest-small", settings=FakeSettings()) == csv_dir


# --- CLI -------------------------------------------------------------------------------------


def test_cli_data_fetch_with_local_path(csv_dir):
    result = CliRunner().invoke(app, ["data", "fetch", "ml-latest-small", "--path", str(csv_dir)])
    assert result.exit_code == 0, result.output
    assert "3 ratings, 3 movies" in result.output


def test_cli_data_fetch_malformed_local_copy_fails_with_the_line(tmp_path):
    folder = _write(tmp_path / "d", {"ratings.csv": _ratings_csv_with("1,16,abc,1"), "movies.csv": MOVIES_CSV})
    result = CliRunner().invoke(app, ["data", "fetch", "ml-latest-small", "--path", str(folder)])
    assert result.exit_code == 1
    output = " ".join(result.output.split())  # rich wraps long lines
    assert "ratings.csv, line 17: rating 'abc' is not a number" in output


def test_cli_data_fetch_downloads_into_dest(mirror, tmp_path):
    url, root = mirror
    _, md5 = _zip_dataset(root, "ml-latest-small", CSV_FILES)
    (root / "ml-latest-small.zip.md5").write_text(md5)
    dest = tmp_path / "dest"
    result = CliRunner().invoke(
        app, ["data", "fetch", "ml-latest-small", "--dest", str(dest), "--base-url", url]
    )
    assert result.exit_code == 0, result.output
    assert (dest / "ml-latest-small" / "ratings.csv").is_file()
