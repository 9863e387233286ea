"""The images of the Dockerfile and the services of docker-compose.yml as a model of paths.

What an image holds is read from its Dockerfile stage (and the stages it is built FROM):
the users ``useradd`` creates (uid, home), the folders ``mkdir``/``WORKDIR`` make and who
owns them after ``chown``, its ``ENV``, ``USER`` and ``WORKDIR``. A compose service adds its
volumes (a named volume starts as a copy of the image's folder, ownership included; a folder
the image lacks becomes a new root-owned one) and its environment. From that, the paths the
service's code reads and writes are checked for existence and for being writable by its user,
and the same layout can be rebuilt under a scratch root to run the code there.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

from tests.test_deployment import COMPOSE_FILE, ENV_EXAMPLE, dockerfile_stages, env_of, \
    parse_env_file, resolve

__all__ = ["Image", "ServiceLayout", "image", "compose_services", "service_layout"]

#: Folders every base image (Debian) has: root-owned, except /tmp (world-writable).
BASE_DIRS = {"/": "root", "/tmp": "*", "/opt": "root", "/var": "root", "/var/lib": "root",
             "/usr": "root", "/etc": "root", "/home": "root"}


def _parents(path: str) -> list[str]:
    parts = PurePosixPath(path).parents
    return [str(p) for p in reversed(parts)] + [path]


@dataclass
class Image:
    """A final image: its folders with their owners ('*' = anyone may write), users, env."""

    stage: str
    dirs: dict[str, str] = field(default_factory=lambda: dict(BASE_DIRS))
    users: dict[str, tuple[int, str]] = field(default_factory=lambda: {"root": (0, "/root")})
    env: dict[str, str] = field(default_factory=dict)
    user: str = "root"
    workdir: str = "/"

    def make_dir(self, path: str) -> None:
        for p in _parents(posixpath.normpath(path)):
            self.dirs.setdefault(p, "root")

    def chown(self, owner: str, path: str) -> None:
        path = posixpath.normpath(path)
        for p in list(self.dirs):
            if p == path or p.startswith(path + "/"):
                self.dirs[p] = owner

    @property
    def uid(self) -> int:
        return self.users[self.user][0]

    @property
    def home(self) -> str:
        return self.users[self.user][1]


def _run(img: Image, command: str) -> None:
    for part in command.split("&&"):
        words = shlex.split(part)
        if not words:
            continue
        if words[0] == "mkdir":
            for w in words[1:]:
                if not w.startswith("-"):
                    img.make_dir(w)
        elif words[0] == "chown":
            args = [w for w in words[1:] if not w.startswith("-")]
            owner = args[0].split(":")[0]
            for path in args[1:]:
                img.chown(owner, path)
        elif words[0] == "useradd":
            uid = int(words[words.index("--uid") + 1])
            home = words[words.index("--home-dir") + 1]
            img.users[words[-1]] = (uid, home)


def image(target: str) -> Image:
    """The image of Dockerfile stage ``target`` (its FROM chain applied in order)."""
    stages = {s["name"]: s for s in dockerfile_stages()}
    chain, name = [], target
    while name in stages:
        chain.append(stages[name])
        name = stages[name]["image"]
    img = Image(target)
    for stage in reversed(chain):
        for keyword, rest in stage["body"]:
            if keyword == "RUN":
                _run(img, rest)
            elif keyword == "ENV":
                for pair in shlex.split(rest):
                    key, _, value = pair.partition("=")
                    img.env[key] = value
            elif keyword == "WORKDIR":
                img.workdir = posixpath.join(img.workdir, rest)
                img.make_dir(img.workdir)
            elif keyword == "USER":
                img.user = rest.split(":")[0]
            elif keyword == "COPY" and "--from=" in rest:
                img.make_dir(rest.split()[-1])
    return img


def compose_services() -> dict[str, dict[str, Any]]:
    """docker-compose.yml's services, variables resolved with .env.example's values."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    return resolve(raw, parse_env_file(ENV_EXAMPLE))["services"]


@dataclass
class ServiceLayout:
    """One service's container: image folders plus its volumes, its environment and user."""

    name: str
    image: Image
    env: dict[str, str]
    dirs: dict[str, str]
    read_only: set[str]

    def absolute(self, path: str) -> str:
        """``path`` as the service's code sees it (relative to the working folder)."""
        return posixpath.normpath(posixpath.join(self.image.workdir, path))

    def exists(self, path: str) -> bool:
        return self.absolute(path) in self.dirs

    def writable(self, path: str) -> bool:
        """Writable by the service's user, or creatable by it (``mkdir -p``)."""
        path = self.absolute(path)
        for p in reversed(_parents(path)):
            if p in self.dirs:
                if any(p == ro or p.startswith(ro + "/") for ro in self.read_only):
                    return False
                return self.dirs[p] in (self.image.user, "*")
        return False


def service_layout(name: str, svc: dict[str, Any]) -> ServiceLayout:
    target = (svc.get("build") or {}).get("target", "runtime")
    img = image(target)
    dirs = dict(img.dirs)
    read_only: set[str] = set()
    for volume in svc.get("volumes") or []:
        source, target_path, *mode = volume.split(":")
        for p in _parents(posixpath.normpath(target_path))[:-1]:
            dirs.setdefault(p, "root")
        if source.startswith((".", "/")):  # bind mount: the host folder as it is
            dirs[target_path] = dirs.get(target_path, "root")
            if mode and "ro" in mode[0].split(","):
                read_only.add(target_path)
        else:  # named volume: initialised from the image folder, else a new root-owned one
            dirs[target_path] = img.dirs.get(target_path, "root")
    env = {**img.env, **env_of(svc)}
    return ServiceLayout(name, img, env, dirs, read_only)
