#!/usr/bin/python3
"""
An independent NTLM peer for test/executors/winrm/ntlm-interop.test.ts: GSSAPI (python3-gssapi) with
the gss-ntlmssp mechanism (OID 1.3.6.1.4.1.311.2.2.10), speaking one JSON object per line on
stdin/stdout, tokens and data in base64.

    gss-peer.py initiate USER DOMAIN [BINDINGS_B64]   (the password in $PEER_PASSWORD, never in argv)
    gss-peer.py accept [BINDINGS_B64]          (the account comes from NTLM_USER_FILE)

Set GSSNTLMSSP_DEBUG=/some/file to get gss-ntlmssp's own log of what it did.

Handshake: each side prints {"token": ...} for its next token and reads {"token": ...} from the
other until the context is complete, then prints {"established": true, "peer": "...".}
Then it serves {"op": "wrap", "data": ...} -> {"token": ...} (gss_wrap with confidentiality) and
{"op": "unwrap", "token": ...} -> {"data": ...} or {"error": "..."} until stdin closes.
"""
import base64
import json
import os
import sys

import gssapi
import gssapi.raw

NTLMSSP = gssapi.OID.from_int_seq('1.3.6.1.4.1.311.2.2.10')


def send(obj):
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def receive():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)


def bindings(arg):
    if not arg:
        return None
    return gssapi.raw.ChannelBindings(application_data=base64.b64decode(arg))


def main():
    role = sys.argv[1]
    flags = gssapi.RequirementFlag.integrity | gssapi.RequirementFlag.confidentiality | gssapi.RequirementFlag.replay_detection | gssapi.RequirementFlag.out_of_sequence_detection
    if role == 'initiate':
        user, domain = sys.argv[2:4]
        password = os.environ['PEER_PASSWORD']
        name = gssapi.Name(f'{domain}\\{user}' if domain else user, gssapi.NameType.user)
        creds = gssapi.raw.acquire_cred_with_password(name, password.encode(), usage='initiate', mechs=[NTLMSSP]).creds
        target = gssapi.Name('HTTP@winrm.test', gssapi.NameType.hostbased_service)
        ctx = gssapi.SecurityContext(name=target, creds=creds, mech=NTLMSSP, usage='initiate', flags=flags,
                                     channel_bindings=bindings(sys.argv[4] if len(sys.argv) > 4 else None))
        token = ctx.step()
        while True:
            send({'token': base64.b64encode(token).decode()})
            if ctx.complete:
                break
            token = ctx.step(base64.b64decode(receive()['token']))
            if ctx.complete and not token:
                break
        peer = str(ctx.target_name)
    else:
        creds = gssapi.Credentials(usage='accept', mechs=[NTLMSSP])
        ctx = gssapi.SecurityContext(creds=creds, usage='accept',
                                     channel_bindings=bindings(sys.argv[2] if len(sys.argv) > 2 else None))
        while not ctx.complete:
            try:
                token = ctx.step(base64.b64decode(receive()['token']))
            except gssapi.exceptions.GSSError as e:
                send({'error': str(e)})
                sys.exit(0)
            if token:
                send({'token': base64.b64encode(token).decode()})
        peer = str(ctx.initiator_name)
    send({'established': True, 'peer': peer})

    while True:
        request = receive()
        try:
            if request['op'] == 'wrap':
                wrapped = ctx.wrap(base64.b64decode(request['data']), True)
                send({'token': base64.b64encode(wrapped.message).decode(), 'encrypted': wrapped.encrypted})
            else:
                unwrapped = ctx.unwrap(base64.b64decode(request['token']))
                send({'data': base64.b64encode(unwrapped.message).decode(), 'encrypted': unwrapped.encrypted})
        except gssapi.exceptions.GSSError as e:
            send({'error': str(e)})


if __name__ == '__main__':
    main()
