"""Round trip through a real Label Studio server: tasks out, two labelers, exports back.

Needs a running Label Studio (tried with 1.23.2) whose sign-up page is open (the
default of the open-source edition) and an account's API token::

    python3.11 -m venv /tmp/lsvenv && /tmp/lsvenv/bin/pip install label-studio
    LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true \\
    LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=/tmp/lsroot \\
    /tmp/lsvenv/bin/label-studio start --host 127.0.0.1 --port 8089 \\
        --data-dir /tmp/lsdata --username admin@lab.org --password adminpass123 \\
        --enable-legacy-api-token --user-token <40 characters> --no-browser
    ASSAY_LABEL_STUDIO_URL=http://127.0.0.1:8089 ASSAY_LABEL_STUDIO_TOKEN=<token> \\
    LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=/tmp/lsroot \\
        .venv/bin/python benchmarks/label_studio_roundtrip.py

The token may be a legacy token or a personal access token (exchanged for an access
token). What it does, each step through the real server's REST API or assay's CLI:

1. ``assay import`` of the UCI sentiment sentences (Amazon, real text) and
   ``assay plan-sample --label-studio tasks.json`` (tasks and ``label_config.xml``);
2. a project whose config has **two** Choices controls (``label`` from assay's config,
   plus ``clarity``), the tasks imported;
3. two labelers signed up, each annotating every task through the API (the second
   disagrees on a known share of items);
4. exports in JSON, JSON-MIN and CSV (and JSON with ``completed_by`` expanded, through
   an export snapshot), each read back by ``assay agree``, ``assay annotations import``
   and ``assay consensus``: item ids, counts and Krippendorff's alpha must equal what was
   posted, exactly; without ``--from-name`` the JSON export is refused listing both
   controls; ``--annotators`` maps the user ids to e-mails (the users API's JSON);
5. ``assay audit`` with out-of-sample probabilities, then ``plan-sample --predictions``:
   the queue's suggestions imported as predictions with their scores, none on the
   sampled (blind) tasks;
6. an image dataset under the document root, ``plan-sample --image-url local-files``,
   its tasks imported with a Local Files storage: every task's image URL must be
   served by Label Studio (HTTP 200, the file's bytes).

Results go to ``benchmarks/results/label_studio_roundtrip.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import io
import json
import os
import secrets
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

from assay.cli.main import main as assay_main  # noqa: E402
from assay.collect import agreement  # noqa: E402
from assay.store.workspace import Workspace  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared/data"
SENTENCES = DATA / "text/amazon_cells_labelled.txt"
IMAGES = DATA / "detection/raccoon/images"
CLARITY = '  <Choices name="clarity" toName="text" choice="single">\n' \
    '    <Choice value="clear"/>\n    <Choice value="unclear"/>\n  </Choices>\n'


class Client:
    """A Label Studio REST client: token auth (legacy or personal access token), or a
    browser-like session of a signed-up user."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.auth: dict[str, str] = {}
        if token:
            self.auth = self._token_header(token)

    def _token_header(self, token: str) -> dict[str, str]:
        self.auth = {"Authorization": f"Token {token}"}
        with contextlib.suppress(urllib.error.HTTPError):
            self.get("/api/current-user/whoami")
            return self.auth
        self.auth = {}
        access = self.post("/api/token/refresh", {"refresh": token})["access"]
        return {"Authorization": f"Bearer {access}"}

    def _csrf(self) -> dict[str, str]:
        token = next((c.value for c in self.jar if c.name == "csrftoken"), None)
        return {"X-CSRFToken": token, "Referer": self.url + "/"} if token else {}

    def request(self, method: str, path: str, body: Any = None, raw: bool = False) -> Any:
        data = None
        headers = {**self.auth, **(self._csrf() if not self.auth else {})}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with self.opener.open(req, timeout=120) as resp:
            payload = resp.read()
        if raw:
            return payload
        return json.loads(payload) if payload.strip() else None

    def get(self, path: str, raw: bool = False) -> Any:
        return self.request("GET", path, raw=raw)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body)

    def sign_up(self, email: str, password: str) -> None:
        """Sign up (or log in) through the web form, as a person would."""
        for page in ("/user/signup/", "/user/login/"):
            self.opener.open(self.url + page, timeout=60).read()
            form = urllib.parse.urlencode({
                "csrfmiddlewaretoken": self._csrf().get("X-CSRFToken", ""),
                "email": email, "password": password}).encode()
            req = urllib.request.Request(self.url + page, data=form,
                                         headers={"Referer": self.url + page})
            self.opener.open(req, timeout=60).read()
            with contextlib.suppress(urllib.error.HTTPError):
                if self.get("/api/current-user/whoami").get("email") == email:
                    return
        raise SystemExit(f"could not sign up or log in {email}: is sign-up open?")


def assay(*args: str) -> tuple[int, str, str]:
    """``assay ARGS`` in-process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = assay_main(list(args))
    return code, out.getvalue(), err.getvalue()


def must(*args: str) -> str:
    code, out, err = assay(*args)
    if code != 0:
        raise SystemExit(f"assay {' '.join(args)} failed ({code}): {err}")
    return out


def sentences_dataset(ws: str, work: Path, n: int) -> list[dict[str, Any]]:
    """Import the sentences; plan-sample n of them; the tasks written."""
    frame = pd.read_csv(SENTENCES, sep="\t", header=None, names=["text", "label"], quoting=3)
    frame.insert(0, "id", [f"amz-{i:04d}" for i in range(len(frame))])
    frame["label"] = frame["label"].map({0: "negative", 1: "positive"})
    frame.to_csv(work / "sentences.csv", index=False)
    must("import", "reviews", str(work / "sentences.csv"), "--id", "id", "-w", ws)
    must("plan-sample", "reviews", "--n", str(n), "--out", str(work / "sample.csv"),
         "--label-studio", str(work / "tasks.json"), "-w", ws)
    return json.loads((work / "tasks.json").read_text())


def two_control_config(work: Path) -> str:
    config = (work / "label_config.xml").read_text()
    return config.replace("</View>", CLARITY + "</View>")


def choices(label: str, clarity: str) -> list[dict[str, Any]]:
    return [{"from_name": "label", "to_name": "text", "type": "choices",
             "value": {"choices": [label]}},
            {"from_name": "clarity", "to_name": "text", "type": "choices",
             "value": {"choices": [clarity]}}]


def annotate(labelers: list[Client], tasks: list[dict[str, Any]], truth: dict[str, str]
             ) -> pd.DataFrame:
    """Each labeler annotates every task; the second flips every 4th item's label."""
    flip = {"positive": "negative", "negative": "positive"}
    rows = []
    for who, client in enumerate(labelers):
        email = client.get("/api/current-user/whoami")["email"]
        for j, task in enumerate(tasks):
            item = task["data"]["item"]
            label = truth[item] if who == 0 or j % 4 else flip[truth[item]]
            clarity = "clear" if (j + who) % 3 else "unclear"
            client.post(f"/api/tasks/{task['id']}/annotations/",
                        {"result": choices(label, clarity), "lead_time": 1.0})
            rows.append({"item": item, "annotator": email, "label": label})
    return pd.DataFrame(rows)


def export(admin: Client, project: int, kind: str, work: Path) -> Path:
    suffix = ".csv" if kind == "CSV" else ".json"
    raw = admin.get(f"/api/projects/{project}/export?exportType={kind}", raw=True)
    path = work / f"export-{kind.lower()}{suffix}"
    path.write_bytes(raw)
    return path


def expanded_export(admin: Client, project: int, work: Path) -> Path:
    """JSON with ``completed_by`` as the user (e-mail included): an export snapshot."""
    snap = admin.post(f"/api/projects/{project}/exports/", {
        "serialization_options": {"annotations__completed_by": {"only_id": False}}})
    raw = admin.get(f"/api/projects/{project}/exports/{snap['id']}/download?exportType=JSON",
                    raw=True)
    path = work / "export-json-expanded.json"
    path.write_bytes(raw)
    return path


def read_back(path: Path, ws: str, annotators: Path | None, expected: pd.DataFrame
              ) -> dict[str, Any]:
    """agree, annotations import and consensus on one export; compared with what was
    posted."""
    extra = ["--annotators", str(annotators)] if annotators else []
    code, out, err = assay("agree", str(path), "--json", "--report",
                           str(path.with_suffix(".html")), *extra)
    # CSV sorts its columns: a control cannot be told from a data column, so the control
    # named `label` is read; JSON and JSON-MIN name their controls and refuse two
    refused: bool | str = code == 2 and "'label', 'clarity'" in err
    if path.suffix == ".csv":
        refused = "n/a (reads 'label')" if code == 0 else f"exit {code}"
    code, out, err = assay("agree", str(path), "--from-name", "label", "--json", "--report",
                           str(path.with_suffix(".html")), *extra)
    if code != 0:
        raise SystemExit(f"agree {path.name}: {err}")
    alpha = json.loads(out)["krippendorff_alpha"]
    name = "rt_" + path.stem.replace("-", "_")
    must("import", name, str(path.parent / "sentences.csv"), "--id", "id", "-w", ws)
    code, out, err = assay("annotations", "import", name, str(path), "--from-name", "label",
                           "--json", "-w", ws, *extra)
    if code != 0:
        raise SystemExit(f"annotations import {path.name}: {err}")
    batch = json.loads(out)
    code, out, err = assay("consensus", str(path), "--from-name", "label", "--json", *extra)
    consensus_items = len(json.loads(out)["labels"]) if code == 0 else f"exit {code}"
    stored = Workspace(ws).annotations.load(name)
    want = expected.assign(item=expected["item"].astype(str))
    got = stored[["item", "annotator", "label"]].astype(str)
    key = ["item", "annotator"]
    same = (want.sort_values(key).to_numpy().tolist()
            == got.sort_values(key).to_numpy().tolist())
    return {"export": path.name, "refused without --from-name": refused,
            "annotations": batch["annotations"], "items": batch["items"],
            "annotators": batch["annotators"], "alpha": alpha,
            "consensus items": consensus_items, "rows equal": same}


def predictions_check(admin: Client, ws: str, work: Path, n: int) -> dict[str, Any]:
    """The audit's suggestions as predictions: audit with out-of-sample probabilities
    (TF-IDF + logistic regression, 5-fold), plan-sample --predictions, imported; what
    Label Studio holds afterwards compared with the review queue."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline

    frame = pd.read_csv(work / "sentences.csv")
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    probs = cross_val_predict(model, frame["text"], frame["label"], cv=5,
                              method="predict_proba")
    np.save(work / "probs.npy", probs)
    must("audit", "reviews", "--pred-probs", str(work / "probs.npy"), "--report",
         str(work / "audit.html"), "-w", ws)
    queue = Workspace(ws).review.list("reviews", status="open")
    queue = queue[queue["suggested_label"].notna()].drop_duplicates("item_id")
    tasks_file = work / "pred" / "tasks.json"
    must("plan-sample", "reviews", "--n", str(n), "--seed", "1", "--out",
         str(work / "pred.csv"), "--label-studio", str(tasks_file), "--predictions", "-w", ws)
    project = admin.post("/api/projects/", {
        "title": "assay predictions",
        "label_config": (tasks_file.parent / "label_config.xml").read_text()})
    admin.post(f"/api/projects/{project['id']}/import", json.loads(tasks_file.read_text()))
    listed = admin.get(f"/api/tasks/?project={project['id']}&page_size=100000")
    items = {t["id"]: str(t["data"]["item"]) for t in listed["tasks"]}
    held = admin.get(f"/api/predictions/?project={project['id']}")
    sample = set(pd.read_csv(work / "pred.csv", dtype={"item": str})["item"])
    want = {str(r.item_id): (r.suggested_label, 1 - r.score) for r in queue.itertuples()
            if str(r.item_id) not in sample}
    got = {items[p["task"]]: (p["result"][0]["value"]["choices"][0], p["score"]) for p in held}
    blind = len(sample & set(items.values()) - set(got))
    return {"queue": len(queue), "sample": len(sample), "blind": blind,
            "predicted": len(got), "equal": got == want,
            "queued in sample": len(set(queue["item_id"].astype(str)) & sample)}


def image_check(admin: Client, ws: str, work: Path, root: Path, n: int) -> dict[str, Any]:
    """An image dataset under the document root, tasks with local-files URLs, served."""
    folder = root / f"assay-{secrets.token_hex(4)}"
    for k, cls in enumerate(("left", "right")):
        (folder / cls).mkdir(parents=True)
        for f in sorted(IMAGES.glob("*.jpg"))[k * n:(k + 1) * n]:
            shutil.copy(f, folder / cls / f.name)
    must("import", "pics", str(folder), "-w", ws)
    tasks_file = work / "images" / "tasks.json"
    must("plan-sample", "pics", "--n", str(n), "--out", str(work / "pics.csv"),
         "--label-studio", str(tasks_file), "--image-url", "local-files", "-w", ws)
    config = (tasks_file.parent / "label_config.xml").read_text()
    project = admin.post("/api/projects/", {"title": "assay images", "label_config": config})
    admin.post("/api/storages/localfiles/", {
        "project": project["id"], "path": str(folder), "title": "media",
        "use_blob_urls": False})
    tasks = json.loads(tasks_file.read_text())
    admin.post(f"/api/projects/{project['id']}/import", tasks)
    served = 0
    for task in tasks:
        url = task["data"]["image"]
        body = admin.get(url, raw=True)
        path = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["d"][0]
        served += body == (root / path).read_bytes()
    return {"tasks": len(tasks), "served": served, "example": tasks[0]["data"]["image"]}


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="assay-ls-") as tmp:
        yield Path(tmp)


def roundtrip(url: str, token: str, n: int = 40, images: int = 5,
              keep: Path | None = None) -> dict[str, Any]:
    """Every step of the module docstring against the server at ``url``; what came back."""
    admin = Client(url, token)
    with workdir() as work:
        ws = str(work / "ws")
        must("init", ws)
        tasks = sentences_dataset(ws, work, n)
        project = admin.post("/api/projects/", {"title": "assay round trip",
                                                "label_config": two_control_config(work)})
        admin.post(f"/api/projects/{project['id']}/import", tasks)
        listed = admin.get(f"/api/tasks/?project={project['id']}&page_size={n + 10}")
        live = listed["tasks"] if isinstance(listed, dict) else listed
        sample = pd.read_csv(work / "sample.csv", dtype={"item": str})
        truth = dict(zip(sample["item"], sample["label"], strict=True))
        labelers = []
        for who in ("ann", "ben"):
            client = Client(url)
            client.sign_up(f"{who}-{secrets.token_hex(3)}@lab.org", "labelpass123")
            labelers.append(client)
        posted = annotate(labelers, live, truth)
        users = work / "users.json"
        users.write_text(json.dumps(admin.get("/api/users/")))
        rows = [read_back(export(admin, project["id"], kind, work), ws, users, posted)
                for kind in ("JSON", "JSON_MIN", "CSV")]
        rows.append(read_back(expanded_export(admin, project["id"], work), ws, None, posted))
        if keep is not None:  # the exports, to look at
            keep.mkdir(parents=True, exist_ok=True)
            for f in [*work.glob("export-*"), users, work / "tasks.json"]:
                shutil.copy(f, keep / f.name)
        predicted = predictions_check(admin, ws, work, n)
        root = os.environ.get("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT")
        shown = image_check(admin, ws, work, Path(root), images) if root and images else None
    alpha = agreement(posted).krippendorff_alpha
    ok = all(r["rows equal"] and r["refused without --from-name"] and r["alpha"] == alpha
             and r["annotations"] == len(posted) for r in rows)
    ok = ok and predicted["equal"] and predicted["blind"] == predicted["sample"]
    ok = ok and (not shown or shown["served"] == shown["tasks"])
    return {"version": admin.get("/api/version").get("release", "?"), "url": url, "n": n,
            "posted": len(posted), "alpha": alpha, "rows": rows, "predicted": predicted,
            "shown": shown, "ok": ok}


def report(outcome: dict[str, Any]) -> str:
    """The Markdown of a round trip's outcome."""
    rows, predicted, shown = outcome["rows"], outcome["predicted"], outcome["shown"]
    header = list(rows[0])
    table = markdown_table(header, [[_cell(r[h]) for h in header] for r in rows])
    body = (f"Label Studio {outcome['version']} at {outcome['url']}; {outcome['n']} sampled "
            "sentences (UCI Amazon), two labelers signed up and annotating through the API, "
            f"two Choices controls (label, clarity). Posted: {outcome['posted']} annotations, "
            f"Krippendorff's alpha {_cell(outcome['alpha'])} (the second labeler flips every "
            f"4th item).\n\n{table}\n")
    body += (f"\nPredictions: `assay audit reviews --pred-probs` (TF-IDF + logistic "
             f"regression, 5-fold) queued {predicted['queue']} items with a suggested label; "
             f"`plan-sample --n {outcome['n']} --predictions` imported: "
             f"{predicted['predicted']} tasks pre-annotated, label and score (1 - queue "
             f"score) equal to the queue: {predicted['equal']}; {predicted['blind']} of "
             f"{predicted['sample']} sampled tasks without a prediction "
             f"({predicted['queued in sample']} of them queued).\n")
    if shown:
        body += (f"\nImages: {shown['tasks']} tasks from `plan-sample --image-url local-files` "
                 f"imported with a Local Files storage; {shown['served']} of them served by "
                 f"Label Studio byte for byte (e.g. `{shown['example']}`).\n")
    return body + f"\nAll equal: {outcome['ok']}.\n"


def _cell(value: Any) -> str:
    return f"{value:.6f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("ASSAY_LABEL_STUDIO_URL"))
    parser.add_argument("--token", default=os.environ.get("ASSAY_LABEL_STUDIO_TOKEN"))
    parser.add_argument("--n", type=int, default=40, help="Sampled sentences.")
    parser.add_argument("--images", type=int, default=5, help="Images per class.")
    parser.add_argument("--keep", type=Path, help="Copy the exports into this folder.")
    args = parser.parse_args()
    if not args.url or not args.token:
        raise SystemExit("give --url and --token (or ASSAY_LABEL_STUDIO_URL and "
                         "ASSAY_LABEL_STUDIO_TOKEN); see the docstring to start a server.")
    outcome = roundtrip(args.url, args.token, args.n, args.images, args.keep)
    write_results("label_studio_roundtrip", "Label Studio round trip (real server)",
                  report(outcome))
    if not outcome["ok"]:
        raise SystemExit(1)
