"""CPU per resident page in-process, as a ratio to the bare view, optionally against another commit.

    .venv/bin/python bench/pages_cpu.py [--against REF] [--requests 50] [--rounds 5] [--blocks 3]
    .venv/bin/python bench/pages_cpu.py --profile profile_edit [--requests 200]

wrk's ratios (bench/pages.py) move by ±0.1 on this shared machine; CPU time per request in one
process moves much less. Same database and data as pages.py (BENCH_DATABASE_URL re-created,
`--population` other residents, one resident with a hub with 10 remotes and a lock with 10
PINs), bench settings, Django's test client (all the middleware, a signed-in session).

Each page is requested `--requests` times per round, timed with `time.process_time()`; a
round visits bare, My page, the edit page and the device list in turn. Each tree runs in its
own child process (`--blocks` per tree, alternating, `--rounds` rounds each, the first
round of each child only warms it); a page's figure is its best round's mean, the least
disturbed by the rest of the machine. `--against REF` measures `git archive REF` beside this
checkout, so "before" and "after" share the run. `--profile PAGE` prints a cProfile of PAGE
(this checkout only). Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve()
THIS_TREE = HERE.parents[1]
PAGES = ["bare", "mypage", "profile_edit", "device_list"]


def child(args) -> None:
    """Measure in one process, in the tree `args.tree`; print {"rounds": {page: [ms, ...]}}."""
    import time

    sys.path.insert(0, str(args.tree))
    from bench import harness

    harness.django_setup()
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User

    client = Client(HTTP_X_FORWARDED_FOR="10.9.9.9")
    client.force_login(User.objects.get(pk=args.user))
    if args.text_size:
        client.cookies["text_size"] = args.text_size
    paths = {
        "bare": reverse("bench_bare"),
        "mypage": reverse("accounts:mypage"),
        "profile_edit": reverse("accounts:profile"),
        "device_list": reverse("smarthome:device_list"),
    }

    def fetch(page: str) -> None:
        response = client.get(paths[page])
        assert response.status_code == 200, (page, response.status_code)

    if args.profile:
        import cProfile
        import pstats

        for _ in range(20):
            fetch(args.profile)
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(args.requests):
            fetch(args.profile)
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(30)
        return

    rounds: dict[str, list[float]] = {page: [] for page in PAGES}
    walls: dict[str, list[float]] = {page: [] for page in PAGES}
    database: dict[str, list[float]] = {page: [] for page in PAGES}
    for n in range(args.rounds + 1):
        for page in PAGES:
            started, wall_started, database_started = time.process_time(), time.perf_counter(), backend_cpu()
            for _ in range(args.requests):
                fetch(page)
            if n:  # round 0 warms the process: templates, translations, connections
                rounds[page].append((time.process_time() - started) * 1000 / args.requests)
                walls[page].append((time.perf_counter() - wall_started) * 1000 / args.requests)
                database[page].append((backend_cpu() - database_started) * 1000 / args.requests)
    print(json.dumps({"rounds": rounds, "walls": walls, "database": database}))


def backend_cpu() -> float:
    """CPU seconds of this connection's PostgreSQL backend (on this machine; 10 ms ticks)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_export(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", ref], cwd=THIS_TREE, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="a commit to measure beside this checkout (git archive)")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--population", type=int, default=100_000, help="other residents in the database")
    parser.add_argument("--reuse-db", action="store_true", help="keep the database of the last run (--user)")
    parser.add_argument("--profile", choices=PAGES)
    parser.add_argument("--text-size", choices=["small", "standard", "large"])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=THIS_TREE, help=argparse.SUPPRESS)
    parser.add_argument("--user", type=int, help="the resident's id, with --reuse-db")
    return parser.parse_args()


def resident_prepare(args: argparse.Namespace) -> int:
    """The bench database as pages.py makes it; the id of the measured resident."""
    from bench import fixtures, harness, pages

    if args.reuse_db and args.user:
        return args.user
    harness.database_recreate()
    if args.population:
        pages.population_fill(args.population)
    harness.django_setup()
    user_id = fixtures.resident_with_home(n=1, remotes=10, pins=10).pk
    print(f"resident: --reuse-db --user {user_id}", file=sys.stderr)
    return user_id


def child_run(args: argparse.Namespace, tree: Path, user_id: int) -> dict[str, dict[str, list[float]]]:
    command = [sys.executable, str(HERE), "--child", "--tree", str(tree), "--user", str(user_id)]
    command += ["--requests", str(args.requests), "--rounds", str(args.rounds)]
    if args.profile:
        command += ["--profile", args.profile]
    if args.text_size:
        command += ["--text-size", args.text_size]
    # The child imports the product from `tree`, never from this checkout.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(command, cwd=tree, env=env, stdout=subprocess.PIPE, text=True, check=True).stdout
    return json.loads(out.splitlines()[-1]) if out.strip() else {}


def report(samples: dict, *, args: argparse.Namespace) -> None:
    from bench import harness

    # A page's figure: its best round, the one least disturbed by the rest of the machine; the
    # database's: the mean over all rounds (the backend does only our work, in 10 ms ticks).
    cpu = {name: {page: min(v) for page, v in kinds["rounds"].items()} for name, kinds in samples.items()}
    wall = {name: {page: min(v) for page, v in kinds["walls"].items()} for name, kinds in samples.items()}
    db = {name: {page: statistics.mean(v) for page, v in kinds["database"].items()} for name, kinds in samples.items()}
    rows = []
    summary: dict[str, float] = {}
    for page in PAGES:
        row = {"page": page}
        for name in samples:
            row[f"{name}_ms"] = cpu[name][page]
            row[f"{name}_ratio"] = cpu[name]["bare"] / cpu[name][page]
            row[f"{name}_wall"] = wall[name][page]
            row[f"{name}_db"] = db[name][page]
            summary[f"{page}_{name}_cpu_ms"] = round(cpu[name][page], 3)
            summary[f"{page}_{name}_vs_bare"] = round(row[f"{name}_ratio"], 3)
            summary[f"{page}_{name}_wall_ms"] = round(wall[name][page], 3)
            summary[f"{page}_{name}_postgres_ms"] = round(db[name][page], 3)
        rows.append(row)
    columns = [("page", "page", "")]
    columns += [(f"{name}_ms", f"CPU ms {name}", ".2f") for name in samples]
    columns += [(f"{name}_ratio", f"vs bare {name}", ".2f") for name in samples]
    columns += [(f"{name}_wall", f"wall ms {name}", ".2f") for name in samples]
    columns += [(f"{name}_db", f"PostgreSQL ms {name}", ".2f") for name in samples]
    print(harness.table(rows, columns))
    rounds = args.blocks * args.rounds
    print(f"best of {rounds} rounds x {args.requests} requests per page and tree; wall includes the queries' waits;")
    print("PostgreSQL: its backend's CPU per request (mean), which shares the machine's CPUs under load")
    print(json.dumps(summary))


def main() -> int:
    args = arguments()
    if args.child:
        child(args)
        return 0
    sys.path.insert(0, str(THIS_TREE))
    user_id = resident_prepare(args)
    if args.profile:
        child_run(args, THIS_TREE, user_id)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"after": THIS_TREE}
        if args.against:
            trees = {"before": tree_export(args.against, Path(tmp)), "after": THIS_TREE}
        samples = {
            name: {kind: {page: [] for page in PAGES} for kind in ("rounds", "walls", "database")} for name in trees
        }
        for _ in range(args.blocks):  # the trees alternate, so a busy minute hits both
            for name, tree in trees.items():
                for kind, figures in child_run(args, tree, user_id).items():
                    for page, values in figures.items():
                        samples[name][kind][page].extend(values)
    report(samples, args=args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
