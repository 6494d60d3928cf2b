"""The stand-in EcoTaxa server with a small world of users and projects, an in-memory keyring,
and a real EcoTaxa export zip built from the ZooScan fixture."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

sys.path.insert(0, str(Path(__file__).parent))
from ecotaxa_server import StandInEcoTaxa  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ZOOSCAN = ROOT.parent / "shared" / "fixtures" / "zooscan" / "m106_mn01_n1_sml"
PASSWORD = "Cop3pod-%s3cret"
ME, BOB, CAROL, AQQUA, DAN, DECOY = 1, 2, 3, 99, 5, 6


class MemoryKeyring(KeyringBackend):
    """A keyring kept in this test process only (keyring's own backend interface)."""

    priority = 1

    def __init__(self):
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring():
    before = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(before)


def export_zip(projid: int, job_id: int = 41) -> bytes:
    """An EcoTaxa general export (split none, with images) of the ZooScan fixture, laid out as
    the facts' "Export zip (general)" says: UTF-8 with a BOM, text values quoted, numbers bare, LF,
    no type line (with_types_row false), img_file_name/img_rank first, ecotaxa_<zipname>.tsv at
    the root, images under <zipname>/, and job_<id>.log."""
    if not ZOOSCAN.is_dir():
        pytest.skip("absent: ../shared/fixtures is not present")
    zipname = f"export__TSV_{projid}_20260627_1012"
    lines = (ZOOSCAN / "ecotaxa_m106_mn01_n1_sml.tsv").read_text(encoding="latin-1").splitlines()
    header = lines[0].split("\t")
    types = lines[1].split("\t")
    rows = [line.split("\t") for line in lines[2:] if line.strip()]
    first = [header.index("img_file_name"), header.index("img_rank")]
    order = first + [i for i in range(len(header)) if i not in first]
    out_rows = ["\t".join(header[i] for i in order)]
    for r in rows:
        vals = []
        for i in order:
            v = r[i] if i < len(r) else ""
            if header[i] == "img_file_name":
                v = f"{zipname}/{v}"
            vals.append(v if types[i] == "[f]" and v != "" else '"' + v.replace('"', '""') + '"')
        out_rows.append("\t".join(vals))
    tsv = ("\ufeff" + "\n".join(out_rows) + "\n").encode("utf-8")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"ecotaxa_{zipname}.tsv", tsv)
        for name in dict.fromkeys(r[header.index("img_file_name")] for r in rows):
            z.write(ZOOSCAN / name, f"{zipname}/{name}")
        z.writestr(f"job_{job_id}.log", "export done\n")
    return buf.getvalue()


@pytest.fixture
def ecotaxa():
    """Alice (1) manages 101 (contact Bob) and 102 (AqQua already a viewer), annotates 103
    (managed by Bob), and manages 104 with Carol annotating."""
    with StandInEcoTaxa() as srv:
        st = srv.state
        st.add_user(ME, "alice@lab.org", "Alice Martin", PASSWORD)
        st.add_user(BOB, "bob@lab.org", "Bob Stone", "bobpw")
        st.add_user(CAROL, "carol@lab.org", "Carol Diaz", "carolpw")
        st.add_user(AQQUA, "aqqua@geomar.de", "AqQua Data Team", "aqquapw", organisation="GEOMAR")
        st.add_user(DAN, "dan@lab.org", "Dan Old", active=False)
        st.add_user(DECOY, "aqqua-fan@else.org", "AqQua Fan", "x")
        st.add_project(
            101, "Zooscan Bay of Biscay 2019", managers=(ME, BOB), annotators=(CAROL,), contact=BOB
        )
        st.add_project(
            102,
            "UVP6 Mediterranean 2021",
            managers=(ME,),
            viewers=(AQQUA,),
            instrument="UVP6",
            access="1",
        )
        st.add_project(103, "IFCB Kiel Fjord", managers=(BOB,), annotators=(ME,), instrument="IFCB")
        st.add_project(104, "ZooScan m106", managers=(ME,), annotators=(CAROL,), objcount=5)
        st.export_zips[104] = export_zip(104)
        yield srv


@pytest.fixture
def alice_env(monkeypatch):
    monkeypatch.setenv("AQQUA_ECOTAXA_PASSWORD", PASSWORD)
    monkeypatch.setenv("AQQUA_ECOTAXA_USER", "alice@lab.org")
