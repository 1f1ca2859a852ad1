// QEMU runs this for each connection a guest makes to one of its guestfwd addresses (ssh-guest.ts:
// user networking with restrict=on, where such forwards are the guest's only way out): stdin and
// stdout are that connection, joined here to 127.0.0.1:<port> on this machine. Plain JavaScript,
// so that it starts in node's own time for each connection. It ends when either side does.
import { connect } from 'node:net';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`usage: tcp-forward.mjs <port on 127.0.0.1>, got ${process.argv[2]}\n`);
  process.exit(2);
}
const socket = connect(port, '127.0.0.1');
process.stdin.pipe(socket);
socket.pipe(process.stdout);
process.stdin.on('error', () => socket.destroy());
process.stdout.on('error', () => socket.destroy());
socket.on('error', () => process.exit(1));
socket.on('close', () => process.exit(0));
