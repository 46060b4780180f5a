#!/usr/bin/python3
"""
An independent WinRM client for test/executors/winrm/http-encryption-interop.test.ts: pywinrm's
message encryption (winrm.encryption.Encryption, Debian's python3-winrm) over the NTLM of ntlm_auth
(python3-ntlm-auth, the library pywinrm's requests_ntlm uses), one JSON object per line on
stdin/stdout, bytes in base64. No network: the "requests" are only prepared, the "responses" faked.

    pywinrm-peer.py USER DOMAIN        (the password in $PEER_PASSWORD, never in argv)

Prints {"token": NEGOTIATE}, reads {"token": CHALLENGE}, prints {"token": AUTHENTICATE}; then serves
{"op": "encrypt", "data": ...} -> {"body": ..., "contentType": ...} (what pywinrm would POST) and
{"op": "decrypt", "body": ..., "contentType": ...} -> {"data": ...} or {"error": ...}.
"""
import base64
import json
import os
import sys
from types import SimpleNamespace

import requests
from ntlm_auth.ntlm import NtlmContext
from winrm.encryption import Encryption


def send(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def receive():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def main():
    user, domain = sys.argv[1:3]
    password = os.environ['PEER_PASSWORD']
    ctx = NtlmContext(user, password, domain=domain, ntlm_compatibility=3)
    send({'token': base64.b64encode(ctx.step()).decode()})
    send({'token': base64.b64encode(ctx.step(base64.b64decode(receive()['token']))).decode()})
    # pywinrm reaches the NTLM session as session.auth.session_security (requests_ntlm's HttpNtlmAuth).
    encryption = Encryption(SimpleNamespace(auth=SimpleNamespace(session_security=ctx._session_security)), 'ntlm')
    http = requests.Session()
    endpoint = 'http://winrm.test:5985/wsman'
    while True:
        request = receive()
        try:
            if request['op'] == 'encrypt':
                prepared = encryption.prepare_encrypted_request(http, endpoint, base64.b64decode(request['data']))
                send({'body': base64.b64encode(prepared.body).decode(), 'contentType': prepared.headers['Content-Type']})
            else:
                response = SimpleNamespace(headers={'Content-Type': request['contentType']}, content=base64.b64decode(request['body']),
                                           request=SimpleNamespace(url=endpoint))
                message = encryption.parse_encrypted_response(response)
                send({'data': base64.b64encode(message if isinstance(message, bytes) else message.encode()).decode()})
        except Exception as e:  # the test reads the refusal
            send({'error': f'{type(e).__name__}: {e}'})


if __name__ == '__main__':
    main()
