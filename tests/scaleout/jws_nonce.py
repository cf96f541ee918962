#!/usr/bin/env python3
"""jws_nonce.py: a nonce from one instance used at another, through real
JWS requests (python3-cryptography, which certbot brings): newAccount signed
with a nonce fetched from instance A, sent to instance B; then the same
nonce again. Prints the two HTTP statuses and the second's problem type.
Usage: jws_nonce.py ROOT_PEM URL_A URL_B EXTERNAL_URL"""
import base64, json, ssl, sys, urllib.request
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

root, url_a, url_b, ext = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=root)
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def nonce(base):
    r = urllib.request.urlopen(urllib.request.Request(base + "/acme/new-nonce", method="HEAD"), context=ctx)
    return r.headers["Replay-Nonce"]

key = ec.generate_private_key(ec.SECP256R1())
n = key.public_key().public_numbers()
jwk = {"crv": "P-256", "kty": "EC", "x": b64(n.x.to_bytes(32, "big")), "y": b64(n.y.to_bytes(32, "big"))}

def post(base, nonce_value):
    prot = b64(json.dumps({"alg": "ES256", "jwk": jwk, "nonce": nonce_value, "url": ext + "/acme/new-account"}).encode())
    pay = b64(json.dumps({"termsOfServiceAgreed": True}).encode())
    der = key.sign((prot + "." + pay).encode(), ec.ECDSA(hashes.SHA256()))
    r, s = utils.decode_dss_signature(der)
    body = json.dumps({"protected": prot, "payload": pay, "signature": b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}).encode()
    req = urllib.request.Request(base + "/acme/new-account", data=body, headers={"Content-Type": "application/jose+json"})
    try:
        resp = urllib.request.urlopen(req, context=ctx)
        return resp.status, ""
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}").get("type", "")

na = nonce(url_a)
s1, _ = post(url_b, na)
s2, t2 = post(url_b, na)
s3, t3 = post(url_a, na)
print(s1, s2, t2, s3, t3)
