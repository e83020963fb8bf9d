"""storyline on Ray: the per-article maps of a run as Ray tasks, the steps
that need the whole corpus on this node.

`cargo xtask ray` runs this with the cache's Ray environment (see
xtask/setup/python-ray.txt). Every step is one `storyline-engine shard STEP`
process (crates/pipeline/src/shards.rs):

    plan                      on this node: cut the inputs into shards
    votes    (map, per shard) furniture votes
    furniture                 on this node: site furniture over all votes
    hashes   (map, per shard) SimHashes, with the furniture
    duplicates                on this node: duplicate ids, near-duplicates
    embed    (map, per shard) final articles, embedded, written as parts
    finish                    on this node: cluster, aggregate, commit

RUN and the inputs must be on a file system every node sees, and the engine,
libtorch and the model at the same paths on every node. A step that Ray runs
again (its worker died) rewrites the same files; a driver killed midway is
resumed by running it again: `plan` finds the job and the maps skip the
shards already done.
"""

import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import time

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no network here
import ray  # noqa: E402


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--engine", required=True, help="the storyline-engine binary")
    p.add_argument("--input", action="append", required=True, help="input file or folder (repeatable)")
    p.add_argument("--out", required=True, help="the run folder")
    p.add_argument("--add", action="store_true", help="add the inputs to the run in --out (as `storyline add`)")
    p.add_argument("--address", help="a Ray cluster to join; default: start a local one for the run")
    p.add_argument("--cpus", type=int, help="CPUs of the local cluster (default: all)")
    p.add_argument("--cpus-per-task", type=int, default=1, help="CPUs (engine threads) per map task")
    p.add_argument("--shard-mb", type=float, default=16.0, help="input per shard, MB")
    p.add_argument("--config", help="settings file (TOML)")
    p.add_argument("--set", action="append", default=[], help="SECTION.KEY=VALUE (repeatable)")
    p.add_argument("--max-retries", type=int, default=3, help="times Ray runs a task again after its worker died")
    p.add_argument("--report", help="write the job's timings here (JSON)")
    p.add_argument("--wait", action="store_true", help="when another command is writing --out, wait for it (plan and finish take the run's lock)")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args()


def die_with_parent():
    """Runs in the engine process before it starts: it is killed when the
    worker that started it dies, so no engine outlives its task."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@ray.remote
def shard_step(cmd, env):
    started = time.time()
    p = subprocess.run(cmd, env={**os.environ, **env}, preexec_fn=die_with_parent, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {p.returncode}:\n{p.stderr[-4000:]}")
    return {"seconds": time.time() - started, "pid": os.getpid(), "node": ray.get_runtime_context().get_node_id()}


class Bar:
    """Shards done, on standard error."""

    def __init__(self, quiet):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()

    def show(self, phase, done, total, final=False):
        if self.quiet or (not self.tty and not final):
            return
        width = 30
        filled = width * done // max(total, 1)
        end = "\n" if final else ""
        sys.stderr.write(f"\r{phase:>7} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} shards{end}")
        sys.stderr.flush()


class Job:
    def __init__(self, args):
        self.args = args
        self.env = {k: os.environ[k] for k in ("LD_LIBRARY_PATH", "STORYLINE_MODEL", "RUST_LOG") if k in os.environ}
        self.bar = Bar(args.quiet)
        self.report = {"phases": {}}

    def engine(self, *step):
        return [self.args.engine, "shard", *step, "--out", self.args.out]

    def here(self, *step, show=False):
        """A step on this node."""
        started = time.time()
        p = subprocess.run(self.engine(*step), env={**os.environ, **self.env}, text=True, capture_output=not show)
        if p.returncode != 0:
            sys.exit(f"storyline shard {step[0]} failed:\n{p.stderr or ''}")
        self.report["phases"][step[0]] = {"seconds": time.time() - started}
        return p.stdout

    def map(self, step, shards):
        """A map over shards, as Ray tasks; returns when all are done."""
        started = time.time()
        total = len(shards)
        c = self.args.cpus_per_task
        task = shard_step.options(num_cpus=c, max_retries=self.args.max_retries, retry_exceptions=False)
        pending = {task.remote(self.engine(step, "--shard", str(k), "--threads", str(c)), self.env): k for k in shards}
        tasks = []
        self.bar.show(step, 0, total)
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                k = pending.pop(ref)
                try:
                    t = ray.get(ref)
                except Exception as e:  # the task's error names the step and shard
                    sys.exit(f"shard {k}, step {step}: {e}")
                t["shard"] = k
                t["round_trip"] = time.time() - started
                tasks.append(t)
            self.bar.show(step, total - len(pending), total)
        self.bar.show(step, total, total, final=True)
        self.report["phases"][step] = {"seconds": time.time() - started, "shards": total, "tasks": tasks}


def local_cluster(cpus):
    """A Ray cluster for this run alone, listening on loopback only.

    Ray's servers (GCS, raylet, object manager, workers, the runtime-env
    agent) bind to the node's IP, but Ray replaces a loopback node IP by the
    machine's external one (`resolve_ip_for_localhost`), so a local cluster
    would listen on every interface the machine routes from. Keeping
    127.0.0.1 keeps every socket on loopback; the dashboard (a web server)
    is not started. tests/ray.rs checks each socket the job opens. (Ray is
    pinned, xtask/setup/python-ray.txt: the private function is checked by
    that test whenever the pin moves.)"""
    import ray._private.services as services

    services.resolve_ip_for_localhost = lambda host: host
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")


def main():
    args = parse()
    job = Job(args)
    wait = ["--wait"] if args.wait else []
    plan = ["plan", "--shard-mb", str(args.shard_mb), "--quiet"] + (["--add"] if args.add else []) + wait
    for i in args.input:
        plan += ["--input", i]
    if args.config:
        plan += ["--config", args.config]
    for kv in args.set:
        plan += ["--set", kv]
    status = json.loads(job.here(*plan))
    if not args.quiet:
        left = len(status["embed"])
        how = f"resuming: {status['shards'] - left} of {status['shards']} shards done" if status["resumed"] else f"{status['shards']} shards"
        print(f"ray: {how}", file=sys.stderr)
    started = time.time()
    if args.address:
        ray.init(address=args.address, log_to_driver=False)
    else:
        local_cluster(args.cpus)
    job.report["ray_init_seconds"] = time.time() - started
    job.report["cluster_cpus"] = ray.cluster_resources().get("CPU", 0)
    job.map("votes", status["votes"])
    job.here("furniture")
    job.map("hashes", status["hashes"])
    job.here("duplicates")
    job.map("embed", status["embed"])
    ray.shutdown()
    # What each shard's engine measured inside (its done.json, see
    # crates/pipeline/src/shards.rs), before finish removes the job's folder.
    shards = []
    for k in range(status["shards"]):
        with open(os.path.join(args.out, ".shards", f"s{k:05}", "done.json")) as f:
            done = json.load(f)
        shards.append({"shard": k, "articles": done["articles"], "seconds": dict(done["seconds"])})
    job.report["shards"] = shards
    finish = ["finish"] + (["--quiet"] if args.quiet else []) + wait
    job.here(*finish, show=True)
    job.report["seconds"] = time.time() - started
    if args.report:
        with open(args.report, "w") as f:
            json.dump(job.report, f, indent=1)


if __name__ == "__main__":
    main()
