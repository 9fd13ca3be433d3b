"""A tiny in-cluster git server for the DAG repo: git's own smart-HTTP CGI (`git http-backend`)
behind Python's standard HTTP server. Clone/fetch (git-sync) and push (the Tilt `dags-push`
resource) both work; there is no auth, so it is for the sandbox only.

    python3 server.py --root /srv/git --port 8080 --repo dags.git
"""

import argparse
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


def init_repo(root: str, repo: str, branch: str) -> None:
    """Create the bare repo if missing; allow anonymous push (http.receivepack)."""
    path = os.path.join(root, repo)
    if not os.path.isdir(path):
        subprocess.run(["git", "init", "--quiet", "--bare", f"--initial-branch={branch}", path], check=True)
    subprocess.run(["git", "-C", path, "config", "http.receivepack", "true"], check=True)


def read_body(rfile, headers) -> bytes:
    # git sends large pushes with chunked transfer encoding (above http.postBuffer), small ones
    # with Content-Length; http-backend wants the plain body either way.
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        out = bytearray()
        while True:
            size = int(rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return bytes(out)
            out += rfile.read(size)
            rfile.readline()  # CRLF after each chunk
    return rfile.read(int(headers.get("Content-Length") or 0))


class GitHandler(BaseHTTPRequestHandler):
    root = "/srv/git"
    protocol_version = "HTTP/1.0"  # one request per connection: no keep-alive bookkeeping

    def _cgi(self) -> None:
        url = urlsplit(self.path)
        body = read_body(self.rfile, self.headers)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_HTTP_MAX_REQUEST_BUFFER": "100M",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": url.path,
            "QUERY_STRING": url.query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_USER": "sandbox",
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        if proc.returncode != 0 and not proc.stdout:
            self.send_error(500, proc.stderr.decode(errors="replace")[:200])
            return
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _:  # http-backend may end headers with bare newlines
            head, _, payload = proc.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _cgi

    def log_message(self, fmt, *args):  # one line per request on stdout (kubectl logs)
        sys.stdout.write(f"{self.address_string()} {fmt % args}\n")
        sys.stdout.flush()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default="/srv/git")
    ap.add_argument("--repo", default="dags.git")
    ap.add_argument("--branch", default="main")
    ap.add_argument("--host", default="0.0.0.0")
    ap.add_argument("--port", type=int, default=8080)
    a = ap.parse_args()
    os.makedirs(a.root, exist_ok=True)
    init_repo(a.root, a.repo, a.branch)
    GitHandler.root = a.root
    srv = ThreadingHTTPServer((a.host, a.port), GitHandler)
    print(f"git server on {a.host}:{srv.server_address[1]} serving {a.root}/{a.repo}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
