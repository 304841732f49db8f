"""
Reference for the command-action tests: fail2ban 1.0.2 itself (Debian's python3-fail2ban) reads a
configuration directory and prints, as JSON, each jail action's properties (what fail2ban-client
sends the server) and every operation after CommandAction.replaceTag for each address family.

usage: /usr/bin/python3 fail2ban-reference.py CONFIG_DIR
"""
import json
import sys

from fail2ban.client.configurator import Configurator
from fail2ban.server import action as f2b_action

# Host names come from DNS in fail2ban; fixed here so both sides agree.
f2b_action.ADD_REPL_TAGS['fq-hostname'] = 'testhost.example'
f2b_action.ADD_REPL_TAGS['sh-hostname'] = 'testhost'

OPS = ('actionstart', 'actionstop', 'actionflush', 'actioncheck', 'actionrepair',
       'actionban', 'actionunban', 'actionprolong', 'actionreban')

conf = Configurator()
conf.setBaseDir(sys.argv[1])
conf.readAll()
conf.getOptions(None)
conf.convertToProtocol()
out = []
for cmd in conf.getConfigStream():
    if cmd[0] != 'multi-set' or cmd[2] != 'action':
        continue
    jail, name, pairs = cmd[1], cmd[3], cmd[4]
    props = dict(pairs)
    props.setdefault('timeout', 60)
    commands = {}
    for op in OPS:
        value = props.get(op)
        if not value:
            continue
        commands[op] = {
            fam or 'none': f2b_action.CommandAction.replaceTag(
                value, props, conditional=('family=' + fam if fam else ''))
            for fam in ('', 'inet4', 'inet6')
        }
    out.append({'jail': jail, 'action': name, 'properties': pairs, 'commands': commands})
json.dump(out, sys.stdout)
