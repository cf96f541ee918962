#!/usr/bin/env python3
"""answer_at.py: an account, an order for DOMAIN and the answer of its
dns-persist-01 challenge, all sent to one instance (URL_C) directly, so that
that instance holds the validation. Writes the account key (KEY_PEM), prints
"ACCOUNT_URL AUTHZ_URL".
Usage: answer_at.py ROOT_PEM EXTERNAL_URL URL_C DOMAIN KEY_PEM"""
import base64, json, ssl, sys, urllib.request
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

root, ext, url_c, domain, key_pem = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=root)
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
key = ec.generate_private_key(ec.SECP256R1())
open(key_pem, "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
n = key.public_key().public_numbers()
jwk = {"crv": "P-256", "kty": "EC", "x": b64(n.x.to_bytes(32, "big")), "y": b64(n.y.to_bytes(32, "big"))}
kid = None

def nonce():
    r = urllib.request.urlopen(urllib.request.Request(url_c + "/acme/new-nonce", method="HEAD"), context=ctx)
    return r.headers["Replay-Nonce"]

def post(path_url, payload):
    """path_url: the external URL of the resource; sent to instance C."""
    global kid
    prot = {"alg": "ES256", "nonce": nonce(), "url": path_url}
    if kid: prot["kid"] = kid
    else: prot["jwk"] = jwk
    p = b64(json.dumps(prot).encode())
    pl = "" if payload is None else b64(json.dumps(payload).encode())
    r, s = utils.decode_dss_signature(key.sign((p + "." + pl).encode(), ec.ECDSA(hashes.SHA256())))
    body = json.dumps({"protected": p, "payload": pl, "signature": b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))})
    req = urllib.request.Request(url_c + path_url[len(ext):], data=body.encode(),
                                 headers={"Content-Type": "application/jose+json"})
    resp = urllib.request.urlopen(req, context=ctx)
    return resp.headers.get("Location"), json.loads(resp.read() or b"{}")

kid, _ = post(ext + "/acme/new-account", {"termsOfServiceAgreed": True})
# The caller publishes the record for this account, then lets us go on.
import os, time
# Written whole, then renamed: the caller polls for the file.
open(key_pem + ".kid.tmp", "w").write(kid)
os.rename(key_pem + ".kid.tmp", key_pem + ".kid")
deadline = time.monotonic() + 300
while not os.path.exists(key_pem + ".go"):
    if time.monotonic() > deadline:
        sys.exit("answer_at: no go-ahead (" + key_pem + ".go) within 300 s")
    time.sleep(0.05)  # the poll interval
_, order = post(ext + "/acme/new-order", {"identifiers": [{"type": "dns", "value": domain}]})
authz = order["authorizations"][0]
_, a = post(authz, None)
ch = [c for c in a["challenges"] if c["type"] == "dns-persist-01"][0]
post(ch["url"], {})
print(kid, authz)
