import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  cosignUrlOf,
  type PeerAddressPolicy,
  RefusedEndpoint,
  refusalOf,
  resolvePeer,
} from "../../../src/node/cosign/peerAddress.js";
import { postToPeer } from "../../../src/node/cosign/peerCall.js";

const PUBLIC_ONLY: PeerAddressPolicy = { allowPrivatePeers: false, ownPorts: () => [] };
const PRIVATE_TOO: PeerAddressPolicy = { allowPrivatePeers: true, ownPorts: () => [9464, 9465] };

describe("which published co-signing endpoints a node calls", () => {
  it("posts below the endpoint's own path, and refuses anything but a plain http(s) URL", () => {
    assert.equal(
      cosignUrlOf("https://peer.example:8443/sibyl/").href,
      "https://peer.example:8443/sibyl/v1/cosign",
    );
    assert.equal(cosignUrlOf("http://peer.example").href, "http://peer.example/v1/cosign");
    for (const endpoint of [
      "http://peer.example/x?y=",
      "http://peer.example/x#",
      "http://peer.example/?",
      "http://user:pass@peer.example",
      "http://user@peer.example",
      "ftp://peer.example",
      "file:///etc/passwd",
      "http://peer.example\\@internal",
      "http://peer.example /x",
      "not a url",
    ])
      assert.throws(() => cosignUrlOf(endpoint), RefusedEndpoint, endpoint);
  });

  it("refuses loopback, private, link-local, CGNAT, multicast, unspecified and reserved addresses", () => {
    for (const address of [
      "127.0.0.1",
      "127.9.9.9",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "100.64.0.1",
      "169.254.169.254",
      "0.0.0.0",
      "224.0.0.1",
      "255.255.255.255",
      "::",
      "::1",
      "fc00::1",
      "fd12:3456::1",
      "fe80::1",
      "fe80::1%eth0",
      "ff02::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "::ffff:10.0.0.1",
      "64:ff9b::a9fe:a9fe",
      "2002:a00:1::1",
    ])
      assert.equal(refusalOf(address, 443, PUBLIC_ONLY), "not a public address", address);
    for (const address of ["8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"])
      assert.equal(refusalOf(address, 443, PUBLIC_ONLY), undefined, address);
  });

  it("with private peers allowed, still refuses this node's own ports on its own host", () => {
    assert.equal(refusalOf("127.0.0.1", 19_465, PRIVATE_TOO), undefined);
    assert.equal(refusalOf("10.0.0.7", 9465, PRIVATE_TOO), undefined, "another host on the private network");
    for (const address of ["127.0.0.1", "::1", "0.0.0.0", "::ffff:127.0.0.1"])
      assert.equal(refusalOf(address, 9464, PRIVATE_TOO), "this node's own port on its own host", address);
  });

  it("refuses a name when any of its addresses is refused, and a name that does not resolve", async () => {
    const url = cosignUrlOf("https://peer.example");
    const resolveTo =
      (...addresses: string[]) =>
      async () =>
        addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
    const target = await resolvePeer(url, PUBLIC_ONLY, resolveTo("8.8.8.8", "2606:4700::1111"));
    assert.deepEqual([target.address, target.family], ["8.8.8.8", 4]);
    await assert.rejects(resolvePeer(url, PUBLIC_ONLY, resolveTo("8.8.8.8", "10.0.0.1")), RefusedEndpoint);
    await assert.rejects(resolvePeer(cosignUrlOf("http://localhost:1"), PUBLIC_ONLY), RefusedEndpoint);
    await assert.rejects(resolvePeer(cosignUrlOf("http://[::1]:1"), PUBLIC_ONLY), RefusedEndpoint);
    await assert.rejects(resolvePeer(url, PUBLIC_ONLY, resolveTo()), RefusedEndpoint);
  });

  it("connects to the address it checked, never resolving the name again", async () => {
    const hosts: string[] = [];
    const server = createServer((request, response) => {
      hosts.push(request.headers.host ?? "");
      response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const { port } = server.address() as AddressInfo;
      let lookups = 0;
      // A name no resolver knows: the call can only reach the server through the checked address.
      const url = cosignUrlOf(`http://peer.invalid:${port}`);
      const target = await resolvePeer(url, PRIVATE_TOO, async () => {
        lookups++;
        return [{ address: "127.0.0.1", family: 4 }];
      });
      const reply = await postToPeer(target, "{}", {
        maxReplyBytes: 1_024,
        signal: AbortSignal.timeout(5_000),
      });
      assert.deepEqual(reply, { status: 200, body: { ok: true } });
      assert.equal(lookups, 1);
      assert.deepEqual(hosts, [`peer.invalid:${port}`]);
    } finally {
      server.close();
    }
  });
});
