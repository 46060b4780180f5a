# An independent WinRM client for the tests (test/pywinrm.ts): Debian's python3-winrm (pywinrm),
# driven by a JSON plan (argv[1]); prints one JSON line with what happened. Only pywinrm's own
# Protocol and Transport speak to the listener (its NTLM, its message encryption, its envelopes).
# With --serve it reads one plan (JSON) a line on standard input and answers each with its line, so
# that a test file starts Python and loads pywinrm once: each plan has a Protocol (and so a requests
# session, an NTLM context) of its own, as a process of its own would.
import base64
import json
import sys
import traceback
import uuid

import xmltodict
import winrm
from winrm.exceptions import InvalidCredentialsError, WinRMError, WinRMOperationTimeoutError, WinRMTransportError

SHELL = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell'


def send_stdin(protocol, shell_id, command_id, data, end):
    """A Send of stdin (pywinrm 0.3 has no call for it; the envelope is pywinrm's own header)."""
    req = {'env:Envelope': protocol._get_soap_header(
        resource_uri=SHELL + '/cmd', action=SHELL + '/Send', shell_id=shell_id)}
    stream = {'@Name': 'stdin', '@CommandId': command_id, '#text': base64.b64encode(data).decode('ascii')}
    if end:
        stream['@End'] = 'true'
    req['env:Envelope'].setdefault('env:Body', {})['rsp:Send'] = {'rsp:Stream': stream}
    return protocol.send_message(xmltodict.unparse(req))


def run_agent(protocol, plan):
    shell_id = protocol.open_shell()
    command_id = protocol.run_command(shell_id, plan['command'], plan.get('arguments', []))
    stdin = plan['stdin'].encode('utf-8')
    chunk = plan.get('chunk', 60000)
    for i in range(0, len(stdin), chunk):
        send_stdin(protocol, shell_id, command_id, stdin[i:i + chunk], i + chunk >= len(stdin))
    out, err, code = protocol.get_command_output(shell_id, command_id)
    result = {'stdout': out.decode('utf-8'), 'stderr': err.decode('utf-8', 'replace'), 'exitCode': code}
    try:
        protocol.cleanup_command(shell_id, command_id)
        protocol.close_shell(shell_id)
    except WinRMError as e:
        # The shell may be gone by then (a restart): what the agent answered still counts.
        result['cleanupError'] = str(e)
    if plan.get('thenReuseShell'):
        try:
            protocol.run_command(shell_id, plan['command'], plan.get('arguments', []))
            result['reuse'] = 'ok'
        except WinRMError as e:
            result['reuse'] = str(e)
    return result


def run_plan(plan):
    """What one plan did, as the one JSON line to print."""
    protocol = winrm.Protocol(
        plan['endpoint'], transport=plan['transport'], username=plan['user'], password=plan['password'],
        message_encryption=plan.get('encryption', 'auto'), server_cert_validation=plan.get('certValidation', 'validate'),
        ca_trust_path=plan.get('ca'), operation_timeout_sec=plan.get('operationTimeout', 20),
        read_timeout_sec=plan.get('operationTimeout', 20) + 10)
    # The size of each response pywinrm receives (decrypted), to check the server kept to the envelope.
    sizes = []
    send = protocol.transport.send_message

    def measured(message):
        response = send(message)
        sizes.append(len(response))
        return response
    protocol.transport.send_message = measured
    step = plan['step']
    try:
        if step == 'agent':
            result = run_agent(protocol, plan)
        elif step == 'command':
            shell_id = protocol.open_shell()
            try:
                protocol.run_command(shell_id, plan['command'], plan.get('arguments', []))
            finally:
                protocol.close_shell(shell_id)
            result = {}
        elif step == 'receive-timeout':
            shell_id = protocol.open_shell()
            command_id = protocol.run_command(shell_id, plan['command'], plan.get('arguments', []))
            try:
                protocol._raw_get_command_output(shell_id, command_id)
                result = {'timedOut': False}
            except WinRMOperationTimeoutError:
                result = {'timedOut': True}
            protocol.cleanup_command(shell_id, command_id)
            protocol.close_shell(shell_id)
        elif step == 'no-such-shell':
            protocol.close_shell(str(uuid.uuid4()).upper())
            result = {}
        elif step == 'oversize':
            shell_id = protocol.open_shell()
            send_stdin(protocol, shell_id, str(uuid.uuid4()).upper(), b'x' * plan['bytes'], True)
            result = {}
        elif step == 'unencrypted':
            shell_id = protocol.open_shell()
            protocol.transport.encryption = None
            protocol.close_shell(shell_id)
            result = {}
        else:
            raise ValueError('unknown step ' + step)
        return json.dumps({'ok': True, 'largestResponse': max(sizes or [0]), 'responses': len(sizes), **result})
    except InvalidCredentialsError as e:
        return json.dumps({'ok': False, 'error': 'InvalidCredentialsError', 'message': str(e)})
    except WinRMTransportError as e:
        return json.dumps({'ok': False, 'error': 'WinRMTransportError', 'code': e.code, 'message': str(e)})
    except WinRMError as e:
        return json.dumps({'ok': False, 'error': 'WinRMError', 'message': str(e)})


def serve():
    """One plan a line in, its line out; an error no plan expects is answered as `crashed`, with its trace."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = run_plan(json.loads(line))
        except Exception:
            answer = json.dumps({'crashed': traceback.format_exc()})
        sys.stdout.write(answer + '\n')
        sys.stdout.flush()


if sys.argv[1] == '--serve':
    serve()
else:
    print(run_plan(json.load(open(sys.argv[1]))))
