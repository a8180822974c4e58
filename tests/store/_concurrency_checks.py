"""The invariants a concurrency storm must leave; each check returns its problems."""

from __future__ import annotations

import json
import signal
from collections import defaultdict
from typing import Any

from _concurrency import (  # beside this file, on sys.path (see the test module)
    Storm,
    acks,
    cli_json,
    file_sha256,
    find_version,
    label_map,
    rows_of,
    versions,
)
from sqlalchemy import select

from assay.store import models as m
from assay.store.workspace import Workspace


def check_exit_codes(storm: Storm) -> list[str]:
    """Every process exited 0, 1 or 2, or was killed by the storm (never 3, never hung)."""
    problems = []
    for p in storm.procs:
        rc = p.returncode
        if p.hung:
            problems.append(f"{p.name} still ran after the hang limit (killed)")
        elif rc in (0, 1, 2) or (p.killed and rc == -signal.SIGKILL):
            continue
        else:
            tail = p.stderr.strip().splitlines()[-3:]
            problems.append(f"{p.name} exited {rc}: {' | '.join(tail)}")
    return problems


def check_acknowledged(storm: Storm, ws: Workspace) -> list[str]:
    """Every acknowledged write is there: versions, decisions, undos, applies, windows."""
    decisions = rows_of(ws, m.ReviewDecision)
    by_actor = {(d.entry_id, d.actor, d.action): d for d in decisions}
    windows = {w["window"]: w for w in ws.monitors.windows("m")}
    problems = []
    for p, words in acks(storm):
        kind = words[0]
        if kind == "commit":
            problems += _acked_commit(ws, p.name, words)
        elif kind in ("decide", "undo"):
            action = words[3] if kind == "decide" else "undo"
            fact = by_actor.get((int(words[1]), words[2], action))
            if fact is None:
                problems.append(f"{p.name}: acknowledged {' '.join(words)} is not in the history")
            elif kind == "decide" and words[4] != "-" and json.loads(fact.label) != int(words[4]):
                problems.append(f"{p.name}: {' '.join(words)} is stored with label {fact.label}")
        elif kind == "apply":
            problems += _acked_apply(ws, p.name, words)
        elif kind == "ingest" and int(words[2]) not in windows:
            problems.append(f"{p.name}: acknowledged window {words[2]} of m is missing")
    return problems + _acked_commands(storm, ws, by_actor, windows)


def _acked_commit(ws: Workspace, who: str, words: list[str]) -> list[str]:
    _, name, number, digest, n_rows, added = words
    v = find_version(ws, f"{name}@v{number}")
    if v is None:
        return [f"{who}: acknowledged {name}@v{number} does not exist"]
    if v.object_hash != digest or v.n_rows != int(n_rows):
        return [f"{who}: {name}@v{number} is {v.object_hash}/{v.n_rows}, acknowledged "
                f"{digest}/{n_rows}"]
    ids = set(v.to_arrow(["id"]).column("id").to_pylist())
    missing = {int(i) for i in added.split(",")} - ids
    return [f"{who}: {name}@v{number} lacks its added ids {sorted(missing)}"] if missing else []


def _acked_apply(ws: Workspace, who: str, words: list[str]) -> list[str]:
    _, name, number, listed = words
    v = find_version(ws, f"{name}@v{number}")
    if v is None:
        return [f"{who}: acknowledged apply {name}@v{number} does not exist"]
    ids = [] if listed == "-" else [int(i) for i in listed.split(",")]
    if v.provenance.get("review_decisions") != ids:
        return [f"{who}: {name}@v{number} records decisions "
                f"{v.provenance.get('review_decisions')}, the apply said {ids}"]
    with ws.session(readonly=True) as s:
        wrong = [
            d.id
            for d in s.scalars(select(m.ReviewDecision).where(m.ReviewDecision.id.in_(ids)))
            if d.applied_version_id != v.id
        ]
    return [f"{who}: decisions {wrong} applied by {v.ref} do not say so"] if wrong else []


def _acked_commands(
    storm: Storm, ws: Workspace, by_actor: dict[tuple[int, str, str], Any], windows: dict
) -> list[str]:
    """The CLI commands that exited 0: what their JSON names exists."""
    problems = []
    for p in storm.procs:
        out = cli_json(p)
        if p.kind != "cli" or out is None:
            if p.kind == "cli" and p.returncode == 0:
                problems.append(f"{p.name} exited 0 without JSON: {p.lines[:3]}")
            continue
        if p.role in ("import", "apply"):
            v = find_version(ws, out["ref"])
            if v is None or v.object_hash != out["object"]:
                problems.append(f"{p.name}: acknowledged {out['ref']} is missing or changed")
        elif p.role == "decide":
            actor = p.env["ASSAY_USER"]
            if (int(out["id"]), actor, out["decision"]) not in by_actor:
                problems.append(f"{p.name}: acknowledged decision by {actor} is not stored")
        elif p.role == "ingest" and out["window"] not in windows:
            problems.append(f"{p.name}: acknowledged window {out['window']} is missing")
    return problems


def check_linear(ws: Workspace) -> list[str]:
    """Version n's parent is n-1 (no gap, no sibling); windows are numbered 1..n."""
    problems = []
    for name in ("d", "c"):
        rows = versions(ws, name)
        ids = {v.number: v.id for v in rows}
        if sorted(ids) != list(range(1, len(rows) + 1)):
            problems.append(f"{name} has version numbers {sorted(ids)}")
        for v in rows:
            expected = ids.get(v.number - 1)
            if v.parent_id != expected:
                problems.append(f"{name}@v{v.number} has parent id {v.parent_id}, not {expected}")
    numbers = [w["window"] for w in ws.monitors.windows("m")]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"monitor m has windows {numbers}")
    return problems


def check_nothing_lost(ws: Workspace) -> list[str]:
    """Between consecutive versions of ``d`` only the applied decisions changed rows.

    A commit version keeps every row and label of its parent; an apply version removes
    exactly the items of its remove decisions and relabels exactly its relabels.
    """
    facts = {d.id: d for d in rows_of(ws, m.ReviewDecision)}
    entries = {e.id: e for e in rows_of(ws, m.ReviewItem)}
    rows = versions(ws, "d")
    problems = []
    prev = label_map(ws, rows[0].object_hash)
    for v in rows[1:]:
        cur = label_map(ws, v.object_hash)
        decided = v.provenance.get("review_decisions")
        expected = dict(prev)
        for did in decided or []:
            fact, entry = facts[did], entries[facts[did].entry_id]
            item = int(entry.item_id)
            if fact.action == "remove":
                expected.pop(item, None)
            elif fact.action == "relabel":
                expected[item] = json.loads(fact.label)
        if decided is None:  # a commit: may add rows, nothing else
            expected.update({k: cur[k] for k in cur.keys() - prev.keys()})
        problems += _compare(f"d@v{v.number}", expected, cur)
        prev = cur
    return problems


def _compare(ref: str, expected: dict[int, int], actual: dict[int, int]) -> list[str]:
    lost = sorted(expected.keys() - actual.keys())
    extra = sorted(actual.keys() - expected.keys())
    changed = sorted(k for k in expected.keys() & actual.keys() if expected[k] != actual[k])
    if not (lost or extra or changed):
        return []
    return [f"{ref}: lost ids {lost[:10]}, unexpected ids {extra[:10]}, "
            f"labels changed {changed[:10]} (against its parent and its decisions)"]


def check_decisions(ws: Workspace) -> list[str]:
    """Each decision is applied at most once, to the version whose provenance lists it,
    and every entry shows its latest decision."""
    facts = {d.id: d for d in rows_of(ws, m.ReviewDecision)}
    entries = rows_of(ws, m.ReviewItem)
    claims: dict[int, list[int]] = defaultdict(list)
    for v in versions(ws, "d"):
        for did in v.provenance.get("review_decisions") or []:
            claims[did].append(v.id)
    problems = [f"decision {d} is in the provenance of versions {vs}"
                for d, vs in claims.items() if len(vs) > 1]
    for d in facts.values():
        said = claims.get(d.id, [])
        if d.applied_version_id is not None and said != [d.applied_version_id]:
            problems.append(f"decision {d.id} says version id {d.applied_version_id}, "
                            f"provenance says {said}")
        if d.applied_version_id is None and said:
            problems.append(f"decision {d.id} is in version id {said} but not marked applied")
    for e in entries:
        problems += _entry_problems(e, facts, claims)
    return problems


def _entry_problems(e: m.ReviewItem, facts: dict[int, m.ReviewDecision],
                    claims: dict[int, list[int]]) -> list[str]:
    history = sorted((d for d in facts.values() if d.entry_id == e.id), key=lambda d: d.id)
    last = history[-1] if history else None
    in_force = None if last is None or last.action == "undo" else last.id
    problems = []
    if e.decision_id != in_force:
        problems.append(f"entry {e.id} has decision {e.decision_id} in force, its latest "
                        f"is {in_force} (history {[(d.id, d.action) for d in history]})")
    if (e.status == "applied") != (e.applied_version_id is not None):
        problems.append(f"entry {e.id} is {e.status} with applied version {e.applied_version_id}")
    if e.status == "applied" and claims.get(e.decision_id or -1) != [e.applied_version_id]:
        problems.append(f"entry {e.id} applied to version id {e.applied_version_id}, its "
                        f"decision {e.decision_id} is in {claims.get(e.decision_id or -1)}")
    if e.status == "open" and e.decision_id is not None:
        problems.append(f"entry {e.id} is open with decision {e.decision_id} in force")
    return problems


def referenced(ws: Workspace) -> dict[str, str]:
    """hash -> what refers to it (versions, analyses, monitor profiles and windows)."""
    refs: dict[str, str] = {}
    with ws.session(readonly=True) as s:
        for v, name in s.execute(select(m.Version, m.Dataset.name).join(m.Dataset)):
            refs[v.object_hash] = f"{name}@v{v.number}"
        for a in s.scalars(select(m.Analysis)):
            if a.object_hash:
                refs[a.object_hash] = f"analysis {a.id}"
        for mon in s.scalars(select(m.Monitor)):
            if mon.profile_hash:
                refs[mon.profile_hash] = f"monitor {mon.name} profile"
        for w in s.scalars(select(m.MonitorWindow)):
            refs[w.object_hash] = f"window {w.number}"
    return refs


def check_objects(ws: Workspace) -> list[str]:
    """No referenced object is missing, and each file's SHA-256 is its name."""
    problems = []
    for digest, owner in sorted(referenced(ws).items()):
        path = ws.objects.path(digest)
        if not path.exists():
            problems.append(f"object {digest[:12]} of {owner} is missing")
        elif file_sha256(path) != digest:
            problems.append(f"object {digest[:12]} of {owner} does not match its hash")
    return problems


def check_gc_after(ws: Workspace) -> list[str]:
    """With every writer gone, gc keeps exactly the referenced objects and no temp file."""
    ws.gc(grace_s=0)
    refs = set(referenced(ws))
    present = set(ws.objects.digests())
    problems = [f"gc removed referenced object {d[:12]}" for d in sorted(refs - present)]
    problems += [f"gc left unreferenced object {d[:12]}" for d in sorted(present - refs)]
    left = list((ws.objects.root / "tmp").glob(".tmp-*"))
    problems += [f"temporary file {p.name} left behind" for p in left]
    leases = rows_of(ws, m.ObjectLease)
    return problems + [f"lease {lease.id} of {lease.holder} outlived its writer" for lease in leases]
