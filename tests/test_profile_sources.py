"""Every default of a built-in profile cites a document a reader can check, or says it is an assumption."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from sitefinder.scoring.profiles import builtin_names, load_profile

#: Documents and bodies named in the project's domain notes.
KNOWN = re.compile(
    r"WHO|Wet geluidhinder|CROW|VNG|Almere|Geroscoop|RIGO|Rover|RIVM|3-30-300|Opiumwet|Atlas Leefomgeving",
)
INTERNAL = re.compile(r"DOMAIN|\.md\b|issue|sitefinder's own|ARCHITECTURE", re.IGNORECASE)


@pytest.mark.parametrize("name", builtin_names())
def test_sources_name_real_documents(name: str) -> None:
    prof = load_profile(name)
    items = [(f"criterion {c.name}", c.source) for c in prof.criteria]
    items += [(f"constraint {k.describe()}", k.source) for k in prof.constraints]
    for what, source in items:
        assert source.strip(), f"{name}: {what} has no source"
        assert not INTERNAL.search(source), f"{name}: {what} cites an internal file: {source}"
        assert KNOWN.search(source) or "ssumption" in source, f"{name}: {what}: {source}"


@pytest.mark.parametrize("name", builtin_names())
def test_profile_files_cite_no_internal_files(name: str) -> None:
    text = resources.files("sitefinder").joinpath(f"profiles/{name}.toml").read_text("utf-8")
    assert not re.search(r"DOMAIN\.md|the sitefinder issue", text), name
    assert "max_share_not_evaluable" in text, f"{name}: the share setting is stated in the file"
