#!/usr/bin/env python3
"""wrong_ca.py: a deliberately wrong dns-persist-01 CA, for testing that
`dnspersist probe` catches a CA's faults. A hand-written fake is used
because these faults are exactly what the real CA (dnspersist-ca) must
never be switched into: no such switch exists there.

It answers enough of RFC 8555 for the probe's accounts, orders,
authorizations and challenges (it verifies no signature). A challenge is
decided by `dnspersist evaluate` on the TXT records Knot serves, after the
faults named in FAULTS (comma-separated) are applied:
  issuer   a record naming another issuer is taken as naming this CA
  persist  persistUntil is ignored (the decision is made as of 1970)
Usage: wrong_ca.py PORT CERT KEY DNSPERSIST DNS_PORT FAULTS"""
import base64, hashlib, http.server, json, re, ssl, subprocess, sys, threading

port, cert, key, dp, dns_port, faults = sys.argv[1:7]
port, faults = int(port), set(f for f in faults.split(",") if f)
base = "https://localhost:%d" % port
ISSUER = "ca.test"
lock = threading.Lock()
accounts, orders, authzs = {}, {}, {}  # url -> {...}


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def thumbprint(jwk):
    keys = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    canon = json.dumps({k: jwk[k] for k in keys}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canon.encode()).digest()).rstrip(b"=").decode()


def txt(name):
    out = subprocess.run(["kdig", "+short", "+tcp", "@127.0.0.1", "-p", dns_port, name, "TXT"],
                         capture_output=True, text=True).stdout
    # One line a record: its strings quoted, joined with no separator (R2).
    return ["".join(re.findall(r'"((?:[^"\\]|\\.)*)"', line)) for line in out.splitlines() if line.strip()]


def decide(authz):
    ident = authz["identifier"]["value"]
    domain = ident[2:] if ident.startswith("*.") else ident
    records = txt("_validation-persist." + domain)
    if "issuer" in faults:
        records = [re.sub(r"^\s*[A-Za-z0-9.-]+", ISSUER, r) for r in records]
    acct = accounts[authz["account"]]
    cmd = [dp, "evaluate", "--json", "--issuer", ISSUER, "--account-url", authz["account"],
           "--hash-prefix", base + "/h/"]
    for t in acct["thumbs"]:
        cmd += ["--thumbprint", t]
    if acct["status"] != "valid":
        cmd.append("--deactivated")
    if "persist" in faults:
        cmd += ["--now", "1"]
    out = subprocess.run(cmd + [ident] + records, capture_output=True, text=True).stdout
    return json.loads(out)


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body=None, loc=None, ctype="application/json"):
        self.send_response(code)
        self.send_header("Replay-Nonce", base64.urlsafe_b64encode(hashlib.sha256(str(id(body)).encode()).digest()[:16]).rstrip(b"=").decode())
        if loc:
            self.send_header("Location", loc)
        data = json.dumps(body).encode() if body is not None else b""
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def problem(self, code, typ, detail):
        self.send(code, {"type": "urn:ietf:params:acme:error:" + typ, "detail": detail, "status": code},
                  ctype="application/problem+json")

    def do_HEAD(self):
        self.send(200)

    def do_GET(self):
        if self.path == "/directory":
            return self.send(200, {"newNonce": base + "/nonce", "newAccount": base + "/new-acct",
                                   "newOrder": base + "/new-order", "revokeCert": base + "/revoke",
                                   "keyChange": base + "/key-change",
                                   "meta": {"accountHashPrefix": base + "/h/", "issuerDomainNames": [ISSUER],
                                            "caaIdentities": [ISSUER]}})
        self.send(204 if self.path == "/nonce" else 404)

    def do_POST(self):
        jws = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        prot = json.loads(b64d(jws["protected"]))
        payload = json.loads(b64d(jws["payload"])) if jws["payload"] else None
        url = base + self.path
        with lock:
            if self.path == "/new-acct":
                t = thumbprint(prot["jwk"])
                for u, a in accounts.items():
                    if a["thumbs"][0] == t:
                        return self.send(200, {"status": a["status"]}, loc=u)
                u = "%s/acct/%d" % (base, len(accounts) + 1)
                accounts[u] = {"thumbs": [t], "status": "valid"}
                return self.send(201, {"status": "valid"}, loc=u)
            acct = prot.get("kid")
            if acct not in accounts or accounts[acct]["status"] != "valid":
                return self.problem(401 if acct in accounts else 400, "unauthorized", "no such valid account")
            if self.path.startswith("/acct/"):
                if payload and payload.get("status") == "deactivated":
                    accounts[acct]["status"] = "deactivated"
                return self.send(200, {"status": accounts[acct]["status"]})
            if self.path == "/new-order":
                n = len(orders) + 1
                azs = []
                for ident in payload["identifiers"]:
                    au = "%s/authz/%d-%d" % (base, n, len(azs))
                    authzs[au] = {"identifier": ident, "status": "pending", "account": acct,
                                  "expires": "2099-01-01T00:00:00Z",
                                  "challenges": [{"type": "dns-persist-01", "url": au.replace("/authz/", "/chall/"),
                                                  "status": "pending", "issuerDomainNames": [ISSUER]}]}
                    azs.append(au)
                ou = "%s/order/%d" % (base, n)
                orders[ou] = {"status": "pending", "identifiers": payload["identifiers"],
                              "authorizations": azs, "finalize": base + "/finalize/%d" % n}
                return self.send(201, orders[ou], loc=ou)
            if self.path.startswith("/authz/"):
                a = authzs[url]
                if payload and payload.get("status") == "deactivated":
                    a["status"] = "deactivated"
                view = {k: v for k, v in a.items() if k != "account"}
                return self.send(200, view)
            if self.path.startswith("/chall/"):
                a = authzs[url.replace("/chall/", "/authz/")]
                ch = a["challenges"][0]
                if ch["status"] == "pending":
                    r = decide(a)
                    ch["status"] = a["status"] = r["status"]
                    if r["status"] != "valid":
                        ch["error"] = r["error"]
                return self.send(200, ch)
            if self.path.startswith("/order/"):
                return self.send(200, orders[url])
        self.problem(400, "malformed", "not offered by this fake")


srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
