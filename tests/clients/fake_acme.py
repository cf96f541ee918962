#!/usr/bin/env python3
"""fake_acme.py: a hand-written ACME server for one fault dnspersist-ca cannot
be made to produce: a dns-persist-01 challenge with 0 or 11 issuer names (A4),
or (N_ISSUERS -1) one naming an issuer outside the directory's caaIdentities,
or (N_ISSUERS -2) a well-formed challenge whose authorization stays pending
forever (the client's wait must end, with its message, under AddressSanitizer).
dnspersist-ca refuses such a configuration, as the draft requires of servers,
so the client's check (A4) needs this fake. It answers just enough of RFC 8555
for a client to reach the authorization; it verifies nothing.
Usage: fake_acme.py PORT CERT KEY N_ISSUERS"""
import http.server, json, ssl, sys

port, cert, key, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
base = "https://localhost:%d" % port

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def send(self, code, body=None, loc=None):
        self.send_response(code)
        self.send_header("Replay-Nonce", "AAAAAAAAAAAAAAAAAAAAAA")
        if loc:
            self.send_header("Location", loc)
        data = json.dumps(body).encode() if body is not None else b""
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_HEAD(self):
        self.send(200)

    def do_GET(self):
        self.send(200, {"newNonce": base + "/nonce", "newAccount": base + "/acct", "newOrder": base + "/order",
                        "meta": {"accountHashPrefix": base + "/h/", "issuerDomainNames": ["ca.test"],
                                 "caaIdentities": ["ca.test"] + (["n%d.ca.test" % i for i in range(n)] if n > 0 else [])}})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/acct":
            self.send(200, {"status": "valid"}, base + "/acct/1")
        elif self.path == "/order":
            self.send(201, {"status": "pending", "authorizations": [base + "/authz/1"], "finalize": base + "/fin"}, base + "/o/1")
        elif self.path == "/authz/1":
            if n == -2:
                names = ["ca.test"]
            elif n < 0:
                names = ["ca.test", "evil.example"]
            else:
                names = ["ca.test"] + ["n%d.ca.test" % i for i in range(max(0, n - 1))] if n else []
            self.send(200, {"status": "pending", "identifier": {"type": "dns", "value": "x.web.test"},
                            "challenges": [{"type": "dns-persist-01", "url": base + "/ch/1", "status": "pending",
                                            "issuerDomainNames": names}]})
        elif self.path == "/ch/1" and n == -2:
            self.send(200, {"type": "dns-persist-01", "url": base + "/ch/1", "status": "pending"})
        else:
            self.send(404, {"type": "urn:ietf:params:acme:error:malformed"})

srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
