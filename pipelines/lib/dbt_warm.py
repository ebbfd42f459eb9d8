"""A dbt process started early, with dbt already imported, that runs the run's one dbt command.

`python -m pipelines.lib.dbt_cli build ...` (started by dagster-dbt) pays ~1.5-2.3 s importing dbt
before dbt's own clock starts, on the path from a corrected return to the serving switch. `destinations
run` starts this process when its run has work to build (`start`), so the import happens while the
pipeline definitions load. The launcher (lib/dbt_cli.py) then hands it its arguments,
environment, working directory, sys.path and its stdin/stdout/stderr (the file descriptors themselves,
over a Unix socket), waits for it and exits with its exit code: dagster-dbt reads the same event
stream from the same pipe as from a plain dbt process.

One command per process (dbt's state after a command is not a fresh start). Anything else falls back
to importing dbt in the launcher: no process waiting, the socket gone, a second command.
The process never outlives what started it:
- before a command: it stops when the run closes its stdin (`Warm.stop`, or the run's process dies);
- during one: it stops when the launcher's connection closes (the launcher killed, even by SIGKILL);
  SIGINT/SIGTERM sent to the launcher (dagster-dbt's cancel) are passed on to it over the socket: it
  cancels dbt's running queries and raises the signal in its main thread, which then ends the command
  as dbt ends an interrupted one. (Raised alone, the signal waited in the main thread, blocked on dbt's
  queue, until the running node ended: 31-50 s into a long query, measured; a plain dbt stops in 1 s.)
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

SOCKET_ENV = "DESTINATIONS_DBT_WARM_SOCKET"
# what the process imports ahead: dbt's CLI, the DuckDB adapter dbt loads for this profile, and what the
# first Python model on a correction's path (int_disclosure__cells) imports (~0.8 s); importing is all
PRELOAD = ("dbt.cli.main", "dbt.adapters.duckdb", "polars", "pyarrow", "pipelines.lib.disclosure.engine",
           "pipelines.lib.disclosure.structure", "pipelines.lib.disclosure.public")


class Warm:
    """A started warm dbt process (`start`); `env` names its socket for the launcher."""

    def __init__(self, proc: subprocess.Popen, sock: Path):
        self.proc, self.sock = proc, sock

    @property
    def env(self) -> dict[str, str]:
        return {SOCKET_ENV: str(self.sock)}

    def stop(self) -> None:
        """Close its stdin (a process still waiting exits) and wait for it; a command it runs has
        ended with the launcher already (the dbt step is over when the run stops it)."""
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        finally:
            try:
                self.sock.unlink()
            except OSError:
                pass
            try:
                self.sock.parent.rmdir()
            except OSError:
                pass


def start() -> Warm | None:
    """Start a warm dbt process (None if it cannot start: the launcher then imports dbt itself)."""
    try:
        from pipelines.lib import scratch   # here: the warm process itself does not need it
        folder = scratch.folder("dbt-warm")   # owner-only (0700); a killed run's: removed by the next
        sock = folder / "s"
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.lib.dbt_warm", str(sock)],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except OSError:
        return None
    return Warm(proc, sock)


def serve(sock_path: str) -> int:
    """The warm process: listen, import dbt, run one command handed over by a launcher; its socket
    folder removed when it ends (also when what started it was killed and cannot)."""
    try:
        return _serve(sock_path)
    finally:
        _remove(sock_path)


def _remove(sock_path: str) -> None:
    for remove, path in ((os.unlink, sock_path), (os.rmdir, os.path.dirname(sock_path))):
        try:
            remove(path)
        except OSError:
            pass


def _serve(sock_path: str) -> int:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)       # bound before the imports: a launcher that comes early waits for them
    listener.listen(1)
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if listener in ready:
            break
        if not os.read(sys.stdin.fileno(), 1):     # the run closed it (or died): nothing to run
            return 0
    conn, _ = listener.accept()
    listener.close()
    os.unlink(sock_path)          # taken: a later launcher finds no socket and runs dbt itself
    msg, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    if len(fds) != 3:
        return 2
    request = json.loads(msg.decode())
    for fd, target in zip(fds, (0, 1, 2)):
        os.dup2(fd, target)
        os.close(fd)
    conn.sendall(f"{os.getpid()}\n".encode())
    # the launcher gone (killed) before the command ends: stop here too
    done = threading.Event()
    threading.Thread(target=_exit_when_closed, args=(conn, done, sock_path), daemon=True).start()
    code = run_command(request)
    done.set()
    try:
        conn.sendall(f"{code}\n".encode())
    except OSError:
        pass
    # the connection closes when this process has exited (its atexit work done, as a plain dbt's
    # before its launcher's stdout closes); the launcher waits for that
    return code


def run_command(request: dict) -> int:
    """Run dbt's CLI as the launcher would have: its environment, folder, sys.path and arguments."""
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.path[:] = request["path"]
    sys.argv = ["dbt", *request["args"]]
    from dbt.cli.main import cli

    from pipelines.lib.dbt_cli import prepare
    prepare()
    _cancel_tolerates_closed()
    # an interrupt passed on by the launcher is meant: Python ignores SIGINT when the process that
    # started the run did (a run started in the background by a script or cron)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        cli()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _exit_when_closed(conn: socket.socket, done: threading.Event, sock_path: str) -> None:
    """Watch the launcher's end: a byte is a signal it was sent (raised in this process's main thread,
    where Python handles it); the end of the stream is the launcher gone."""
    main = threading.main_thread().ident
    try:
        while byte := conn.recv(1):
            if byte[0] in (signal.SIGINT, signal.SIGTERM):
                signal.pthread_kill(main, byte[0])
                _cancel_queries()
    except OSError:
        pass
    if not done.is_set():
        _remove(sock_path)
        os._exit(130)


def _cancel_queries() -> None:
    """What dbt's own interrupt handling does first: cancel every open connection's query (the node
    running it fails, the main thread's wait on dbt's queue ends, and the signal is raised there)."""
    try:
        from dbt.adapters.factory import FACTORY
        for adapter in list(FACTORY.adapters.values()):
            adapter.cancel_open_connections()
    except Exception:         # noqa: BLE001 - nothing running, or dbt mid-setup: the signal alone stays
        pass


def _cancel_tolerates_closed() -> None:
    """Here a query is cancelled twice (by _cancel_queries, then by dbt's own interrupt handling in
    the main thread); between the two, the interrupted node may have closed its DuckDB connection,
    and cancelling a closed one raised "Connection already closed" out of dbt's handling (seen on a
    loaded CI machine): the command ended as an error, not an interrupt. A closed connection runs
    nothing, so there is nothing to cancel."""
    import duckdb
    from dbt.adapters.duckdb.environments.local import LocalEnvironment
    if getattr(LocalEnvironment.cancel, "_td_tolerant", False):
        return
    plain = LocalEnvironment.cancel

    def cancel(cls, connection):
        try:
            plain(connection)
        except duckdb.ConnectionException:
            pass
    cancel._td_tolerant = True
    LocalEnvironment.cancel = classmethod(cancel)


def hand_over(sock_path: str, args: list[str]) -> int | None:
    """In the launcher: have the warm process run `dbt <args>` with this process's stdio, environment,
    folder and sys.path; its exit code, or None when no warm process takes it (run dbt here)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(sock_path)
    except OSError:
        return None
    env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
    request = {"args": args, "env": env, "cwd": os.getcwd(), "path": sys.path}
    try:
        socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
        reader = conn.makefile("r")
        pid_line = reader.readline()
    except OSError:
        return None
    if not pid_line.strip():
        return None               # it took nothing (stopped meanwhile): nothing of dbt ran
    pid = int(pid_line)

    def forward(signum, _frame):
        try:
            conn.sendall(bytes([signum]))
        except OSError:
            try:
                os.kill(pid, signum)
            except OSError:
                pass
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    line = reader.readline()
    reader.read()             # until it has exited
    return int(line) if line.strip() else 1      # closed without a code: it died


def end(code: int) -> None:
    """End the warm process once its command is done, as exiting would, minus the interpreter's
    teardown: the launcher, and so the dbt step, waits for this process to exit, and tearing down
    what dbt imported took 0.9-1.4 s after dbt's last event (measured at `large`, on the path of every
    build). What matters in exiting still runs: non-daemon threads are waited for, then the atexit
    handlers (dbt-duckdb closes the warehouse, which checkpoints its WAL: checked, no .wal left;
    logging flushes dbt.log), then the standard streams are flushed."""
    import atexit
    import threading
    for t in threading.enumerate():
        if t is not threading.main_thread() and not t.daemon:
            t.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    end(serve(sys.argv[1]))
