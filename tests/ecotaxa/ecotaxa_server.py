"""A stand-in EcoTaxa back-end on 127.0.0.1: plain HTTP, in-memory state, written from
../shared/ecotaxa-api-facts.md (EcoTaxa back-end 0.0.45).  Facts it implements, with their
section in the facts file:

- Common rules: the /api prefix is optional; `Authorization: Bearer` or a `session` cookie; no
  credentials -> 403 "Not authenticated"; a bad or expired token -> 401 "Could not validate
  credentials" + WWW-Authenticate, except on the optional-auth routes (project list/search/get)
  which treat it as anonymous; 403 "You can't do this."; 404 "Not found."; rule 422 {"detail":
  text}; schema 422 {"detail": [{loc,msg,type}]}; 500 text/plain "----------- BACK-END"; check
  order auth -> schema -> 404 -> 403 -> rule -> 500; wrong method on a known path -> 405.
- POST /login: JSON only (a form body -> 422), e-mail case-insensitive, active users only,
  bad credentials -> 403, 200 -> the token as a JSON string.
- GET /users/me; GET /users/search?by_name= (ILIKE on the name only, `%`/`_` wildcards, no
  by_name -> [], active users only); GET /users/{id} (404 "User not found").
- GET /projects/search (default: any privilege; for_managing -> Manage only; admin -> all;
  anonymous -> public/open with empty member lists and contact null; highest_right always "");
  GET /projects/{id}?for_managing (404; read needs access 1/2 or a privilege; for_managing needs
  Manage; anonymous only access "2").
- PUT /projects/{id}: whole-object replace (left-out fields become null, init_classif_list [],
  omitted member lists remove their users, bodc_variables: only sent keys change and all 3 keys
  read back after the first PUT); user objects need id/email/name/organisation; the 422 rule
  messages in the facts' order; 500 with nothing saved for one user twice (in one list or across
  two), an unknown user id or an unknown instrument; hidden inactive members' rows deleted;
  success -> 200 null.
- POST /object_set/export/general: {"filters", "request"} both required; with images needs
  Manage, else Annotate or Manage; access "2" lets anyone; View never suffices; 404 unknown.
- Jobs: GET /jobs/{id}/ needs the trailing slash (without it 405); GET /jobs/{id}/file does no
  state check, so before "F" -> 500; Range `bytes=N-` -> 206, other ranges -> 416; the
  content-disposition file name export__TSV_<projid>_<YYYYMMDD_HHMM>.zip.

Test knobs (not EcoTaxa behaviour): ``before_put``/``after_put`` change the world around a PUT,
as a colleague on the EcoTaxa site might; ``token_uses`` makes tokens expire after that many
authenticated requests; ``drop_download_after`` cuts the first file download after that many
bytes; ``job_polls`` is how many status reads a job takes to finish; ``requests`` logs
(method, path) of every request.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

INSTRUMENTS = {"Zooscan", "UVP5HD", "UVP6", "IFCB", "FlowCam", "PlanktoScope", "?"}
BODC_KEYS = {"subsample_coef", "total_water_volume", "individual_volume"}
PROJECT_FIELDS = (
    "status",
    "comments",
    "formulae",
    "cnn_network_id",
    "classiffieldlist",
    "popoverfieldlist",
    "classifsettings",
    "rf_models_used",
    "instrument_url",
)


class Fail(Exception):
    def __init__(self, status: int, detail: Any = None, text: str | None = None, headers=None):
        self.status, self.detail, self.text, self.headers = status, detail, text, headers or {}


def _schema(loc: list[str], msg: str = "field required") -> Fail:
    return Fail(422, [{"loc": loc, "msg": msg, "type": "value_error.missing"}])


def _500(why: str) -> Fail:
    return Fail(500, text=f"\n----------- BACK-END -------------\n{why}\n")


class State:
    def __init__(self):
        self.users: dict[int, dict[str, Any]] = {}
        self.projects: dict[int, dict[str, Any]] = {}  # fields without members
        self.privileges: dict[int, dict[int, str]] = {}  # projid -> {user id: right}
        self.contacts: dict[int, int | None] = {}
        self.tokens: dict[str, list[int]] = {}  # token -> [user id, uses]
        self.jobs: dict[int, dict[str, Any]] = {}
        self.export_zips: dict[int, bytes] = {}  # projid -> the zip the export job produces
        self.token_uses: int | None = None
        self.drop_download_after: int | None = None
        self.job_polls = 2
        self.requests: list[tuple[str, str]] = []
        self.after_put = None  # called with (state, projid) after a PUT: a colleague's edit
        self.before_put = None  # called with (state, projid) before a PUT is looked at
        self.lock = threading.RLock()

    # --- building the world -----------------------------------------------------------------
    def add_user(self, uid, email, name, password="pw", organisation="Lab", active=True, can_do=()):
        self.users[uid] = dict(
            id=uid,
            email=email,
            name=name,
            organisation=organisation,
            password=password,
            active=active,
            can_do=list(can_do),
        )

    def add_project(
        self,
        projid,
        title,
        *,
        managers=(),
        annotators=(),
        viewers=(),
        contact=None,
        access="0",
        instrument="Zooscan",
        objcount=5,
        **extra,
    ):
        p = dict(
            projid=projid,
            title=title,
            access=access,
            instrument=instrument,
            objcount=objcount,
            pctvalidated=40.0,
            pctclassified=100.0,
            status="Annotate",
            comments="keep me",
            formulae="subsample_coef: 1/ssm.sub_part",
            cnn_network_id="SCN_zooscan",
            classiffieldlist="area=object_area",
            popoverfieldlist="major",
            classifsettings="x=1",
            rf_models_used="",
            instrument_url="https://example.org/zooscan",
            obj_free_cols={"area": "n01"},
            sample_free_cols={},
            acquisition_free_cols={},
            process_free_cols={},
            bodc_variables={"subsample_coef": "1/ssm.sub_part"},
            init_classif_list=[12, 34],
            license="CC BY 4.0",
        )
        p.update(extra)
        self.projects[projid] = p
        priv = {}
        for right, ids in (("Manage", managers), ("Annotate", annotators), ("View", viewers)):
            for u in ids:
                priv[u] = right
        self.privileges[projid] = priv
        self.contacts[projid] = (
            contact if contact is not None else (managers[0] if managers else None)
        )

    def members_of(self, projid) -> dict[str, dict[int, str]]:
        return dict(self.privileges[projid])

    # --- rendering --------------------------------------------------------------------------
    def min_user(self, uid):
        u = self.users[uid]
        return {k: u[k] for k in ("id", "email", "name", "organisation")}

    def model(self, projid, viewer: int | None, anonymous=False, highest=False):
        p = copy.deepcopy(self.projects[projid])
        lists = {"managers": [], "annotators": [], "viewers": []}
        if not anonymous:
            for uid, right in sorted(self.privileges[projid].items()):
                if not self.users[uid]["active"]:
                    continue  # inactive members are left out (Project.py:225)
                key = {"Manage": "managers", "Annotate": "annotators", "View": "viewers"}[right]
                lists[key].append(self.min_user(uid))
        p.update(lists)
        c = self.contacts[projid]
        p["contact"] = None if anonymous or c is None else self.min_user(c)
        p["highest_right"] = ""
        if highest and viewer is not None:
            p["highest_right"] = self.privileges[projid].get(viewer, "")
            if self.is_admin(viewer):
                p["highest_right"] = "Manage"
        return p

    def is_admin(self, uid):
        return uid is not None and 2 in self.users[uid]["can_do"]

    def right(self, projid, uid):
        if self.is_admin(uid):
            return "Manage"
        return self.privileges[projid].get(uid, "") if uid is not None else ""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: State

    def log_message(self, *a):  # quiet
        pass

    # --- plumbing ---------------------------------------------------------------------------
    def _send(self, status, payload=None, *, text=None, headers=None, raw=None, ctype=None):
        if raw is not None:
            body = raw
        elif text is not None:
            body, ctype = text.encode(), "text/plain"
        else:
            body, ctype = json.dumps(payload).encode(), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _token(self):
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        m = re.search(r"(?:^|;\s*)session=([^;]+)", self.headers.get("Cookie") or "")
        return m.group(1) if m else None

    def _user(self, required: bool):
        """The user id, None for anonymous; raises 403/401 as the facts say."""
        st = self.state
        tok = self._token()
        if tok is None:
            if required:
                raise Fail(403, "Not authenticated")
            return None
        entry = st.tokens.get(tok)
        valid = entry is not None and st.users[entry[0]]["active"]
        if valid and st.token_uses is not None:
            entry[1] += 1
            valid = entry[1] <= st.token_uses
        if not valid:
            if required:
                raise Fail(
                    401, "Could not validate credentials", headers={"WWW-Authenticate": "Bearer"}
                )
            return None  # optional auth: a bad token is anonymous
        return entry[0]

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if "json" not in (self.headers.get("Content-Type") or ""):
            raise _schema(["body"], "value is not a valid dict")
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise _schema(["body"], "invalid json") from None

    def _dispatch(self, method):
        st = self.state
        url = urlparse(self.path)
        path = url.path[4:] if url.path.startswith("/api/") else url.path
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with st.lock:
            st.requests.append((method, path + (f"?{url.query}" if url.query else "")))
        try:
            for pattern, handlers in ROUTES:
                m = re.fullmatch(pattern, path)
                if m:
                    fn = handlers.get(method)
                    if fn is None:
                        raise Fail(405, "Method Not Allowed")
                    with st.lock:
                        result = fn(self, q, *m.groups())
                    if isinstance(result, tuple) and result and result[0] == "raw":
                        return self._file(*result[1:])
                    return self._send(200, result)
            raise Fail(404, "Not Found")
        except Fail as f:
            if f.text is not None:
                return self._send(f.status, text=f.text, headers=f.headers)
            return self._send(f.status, {"detail": f.detail}, headers=f.headers)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # --- file download with Range and a dropped connection ------------------------------------
    def _file(self, data: bytes, name: str):
        st = self.state
        start = 0
        rng = self.headers.get("Range")
        status = 200
        headers = {"content-disposition": f'attachment; filename="{name}"'}
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-", rng.strip())
            if not m or int(m.group(1)) >= len(data):
                return self._send(416, {"detail": "Requested Range Not Satisfiable"})
            start = int(m.group(1))
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        cut = st.drop_download_after
        if cut is not None and not rng:
            st.drop_download_after = None
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            import socket

            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(body)


# --- routes -------------------------------------------------------------------------------
def login(h: Handler, q):
    body = h._body()
    if not isinstance(body, dict) or "username" not in body or "password" not in body:
        raise _schema(["body", "username"])
    for u in h.state.users.values():
        if u["email"].lower() == str(body["username"]).lower() and u["active"]:
            if u["password"] == body["password"]:
                tok = secrets.token_urlsafe(24)
                h.state.tokens[tok] = [u["id"], 0]
                return tok
    raise Fail(403, "Bad user or password")


def users_me(h, q):
    uid = h._user(True)
    u = h.state.users[uid]
    return {
        **h.state.min_user(uid),
        "status": 1,
        "password": "?",
        "can_do": u["can_do"],
        "country": None,
        "orcid": None,
        "usercreationdate": "2020-01-01",
        "mail_status": True,
        "last_used_projects": [],
    }


def users_search(h, q):
    h._user(True)
    pat = q.get("by_name")
    if not pat:
        return []
    rx = re.compile(
        "^" + "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pat) + "$",
        re.I | re.S,
    )
    return [
        h.state.min_user(u["id"])
        for u in h.state.users.values()
        if u["active"] and rx.match(u["name"])
    ]


def user_get(h, q, uid):
    h._user(True)
    if int(uid) not in h.state.users:
        raise Fail(404, "User not found")
    return h.state.min_user(int(uid))


def _truth(v):
    return str(v).lower() in ("true", "1", "yes")


def projects_search(h, q, ids=None):
    st = h.state
    uid = h._user(False)
    out = []
    for pid in sorted(st.projects, reverse=True):  # order is unspecified: not the id order
        p = st.projects[pid]
        if ids is not None and pid not in ids:
            continue
        if uid is None:
            if p["access"] not in ("1", "2"):
                continue
        elif not st.is_admin(uid):
            right = st.right(pid, uid)
            if _truth(q.get("not_granted")) or _truth(q.get("also_others")):
                if right or p["access"] == "0":
                    continue
            elif _truth(q.get("for_managing")):
                if right != "Manage":
                    continue
            elif not right:
                continue
        tf = q.get("title_filter")
        if tf and tf.lower() not in p["title"].lower() and not str(pid).endswith(tf):
            continue
        out.append(st.model(pid, uid, anonymous=uid is None))
    return out


def projects_by_ids(h, q):
    ids = {int(x) for x in (q.get("project_ids") or "").split(",") if x.strip()}
    return projects_search(h, q, ids)


def project_get(h, q, pid):
    st = h.state
    uid = h._user(False)
    pid = int(pid)
    if pid not in st.projects:
        raise Fail(404, "Not found.")
    p = st.projects[pid]
    right = st.right(pid, uid)
    if uid is None:
        if p["access"] != "2":
            raise Fail(403, "You can't do this.")
    elif not right and p["access"] not in ("1", "2"):
        raise Fail(403, "You can't do this.")
    if _truth(q.get("for_managing")) and right != "Manage":
        raise Fail(403, "You can't do this.")
    return st.model(pid, uid, anonymous=uid is None, highest=True)


def project_put(h, q, pid):
    st = h.state
    uid = h._user(True)
    body = h._body()
    pid = int(pid)
    if st.before_put:
        st.before_put(st, pid)
    if not isinstance(body, dict):
        raise _schema(["body"], "value is not a valid dict")
    for k in ("projid", "title", "access"):
        if k not in body:
            raise _schema(["body", k])
    for lst in ("managers", "annotators", "viewers"):
        for i, u in enumerate(body.get(lst) or []):
            for k in ("id", "email", "name", "organisation"):
                if not isinstance(u, dict) or k not in u:
                    raise _schema(["body", lst, str(i), k])
    c = body.get("contact")
    if c is not None:
        for k in ("id", "email", "name", "organisation"):
            if k not in c:
                raise _schema(["body", "contact", k])
    if pid not in st.projects:
        raise Fail(404, "Not found.")
    if st.right(pid, uid) != "Manage":
        raise Fail(403, "You can't do this.")
    if not c:
        raise Fail(422, "A valid Contact is needed.")
    if not body.get("instrument"):
        raise Fail(422, "A valid Instrument is needed.")
    for k in body.get("bodc_variables") or {}:
        if k not in BODC_KEYS:
            raise Fail(422, f"Invalid project variable key: {k}")
    managers = [u["id"] for u in body.get("managers") or []]
    if c["id"] not in managers:
        raise Fail(422, "Could not set Contact, the designated user is not in Managers list.")
    everyone = [
        (u["id"], r)
        for r, lst in (("Manage", "managers"), ("Annotate", "annotators"), ("View", "viewers"))
        for u in body.get(lst) or []
    ]
    ids = [i for i, _ in everyone]
    if len(ids) != len(set(ids)):
        raise _500(
            "psycopg2.errors.UniqueViolation: duplicate key value violates unique constraint"
        )
    if any(i not in st.users for i in ids):
        raise _500("psycopg2.errors.ForeignKeyViolation: user not present")
    if body["instrument"] not in INSTRUMENTS:
        raise _500("psycopg2.errors.ForeignKeyViolation: instrument not present")
    p = st.projects[pid]
    p["title"] = body["title"]
    p["access"] = body["access"]
    p["instrument"] = body["instrument"]
    for k in PROJECT_FIELDS:
        p[k] = body.get(k)
    p["init_classif_list"] = body.get("init_classif_list") or []
    for k in ("obj_free_cols", "sample_free_cols", "acquisition_free_cols", "process_free_cols"):
        if k in body:
            p[k] = body[k]
    bodc = {k: None for k in BODC_KEYS}
    bodc.update(p.get("bodc_variables") or {})
    bodc.update(body.get("bodc_variables") or {})
    p["bodc_variables"] = bodc
    st.privileges[pid] = {i: r for i, r in everyone}  # hidden inactive members' rows go too
    st.contacts[pid] = c["id"]
    if st.after_put:
        st.after_put(st, pid)
    return None


def export_general(h, q):
    st = h.state
    uid = h._user(True)
    body = h._body()
    if not isinstance(body, dict) or "filters" not in body or "request" not in body:
        raise _schema(["body", "filters" if "filters" not in (body or {}) else "request"])
    req = body["request"]
    if "project_id" not in req:
        raise _schema(["body", "request", "project_id"])
    pid = int(req["project_id"])
    if pid not in st.projects:
        raise Fail(404, "Not found.")
    right = st.right(pid, uid)
    images = req.get("with_images", "none") != "none"
    allowed = st.projects[pid]["access"] == "2" or (
        right == "Manage" if images else right in ("Manage", "Annotate")
    )
    if not allowed:
        raise Fail(403, "You can't do this.")
    jid = max(st.jobs, default=40) + 1
    st.jobs[jid] = dict(
        id=jid,
        owner_id=uid,
        type="GeneralExport",
        state="P",
        step=0,
        progress_pct=0,
        progress_msg="Waiting for a slot",
        params={"req": req, "filters": body["filters"]},
        result={},
        errors=[],
        question={},
        reply={},
        inside={},
        polls=0,
        projid=pid,
    )
    return {"errors": [], "warnings": [], "job_id": jid}


def _job(h, jid):
    uid = h._user(True)
    j = h.state.jobs.get(int(jid))
    if j is None:
        raise Fail(404, "Not found.")
    if j["owner_id"] != uid:
        raise Fail(403, "You can't do this.")
    return j


def job_get(h, q, jid):
    j = _job(h, jid)
    j["polls"] += 1
    if j["state"] != "F":
        if j["polls"] >= h.state.job_polls:
            j.update(
                state="F",
                progress_pct=100,
                progress_msg="Done",
                result={"rowcount": 5, "out_file": f"task_{j['id']}.zip"},
            )
        else:
            j.update(state="R", progress_pct=50, progress_msg="Exporting images")
    return {k: v for k, v in j.items() if k not in ("polls", "projid")}


def job_delete(h, q, jid):
    _job(h, jid)
    del h.state.jobs[int(jid)]
    return None


def job_file(h, q, jid):
    j = _job(h, jid)
    if j["state"] != "F":  # no state check in the back-end: the file is not there yet
        raise _500("FileNotFoundError: task_{}.zip".format(j["id"]))
    data = h.state.export_zips[j["projid"]]
    return ("raw", data, f"export__TSV_{j['projid']}_20260627_1012.zip")


def jobs_list(h, q):
    uid = h._user(True)
    return [j for j in h.state.jobs.values() if j["owner_id"] == uid]


ROUTES = [
    (r"/login", {"POST": login}),
    (r"/users/me", {"GET": users_me}),
    (r"/users/search", {"GET": users_search}),
    (r"/users/(\d+)", {"GET": user_get}),
    (r"/projects/search", {"GET": projects_search}),
    (r"/projects", {"GET": projects_by_ids}),
    (r"/projects/(\d+)", {"GET": project_get, "PUT": project_put}),
    (r"/object_set/export/general", {"POST": export_general}),
    (r"/jobs/", {"GET": jobs_list}),
    (r"/jobs/(\d+)/", {"GET": job_get}),
    (r"/jobs/(\d+)", {"DELETE": job_delete}),
    (r"/jobs/(\d+)/file", {"GET": job_file}),
]


class StandInEcoTaxa:
    """Start with ``with StandInEcoTaxa() as srv:``; ``srv.url`` is the API base."""

    def __init__(self):
        self.state = State()
        handler = type("H", (Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def changing_requests(self):
        return [
            (m, p)
            for m, p in self.state.requests
            if m in ("PUT", "POST", "DELETE") and p != "/login"
        ]
