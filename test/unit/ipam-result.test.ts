import { describe, expect, it } from "vitest";
import { parseIP } from "../../lib/ip/address";
import type { Allocation } from "../../lib/ipam/allocate";
import { buildPool } from "../../lib/ipam/pool";
import { buildIpamResult } from "../../lib/ipam/result";
import { poolDoc, poolNamed, seedPools } from "../fixtures/pools/helpers";

const seed = seedPools();
const v4: Allocation = { pool: poolNamed(seed, "worker1-v4"), ip: parseIP("172.31.32.184")! };
const v6: Allocation = { pool: poolNamed(seed, "worker1-v6"), ip: parseIP("2406:da1e:c4:ed02:7a2e::5")! };

describe("buildIpamResult", () => {
  it("dual stack: v4 then v6 whatever the input order, prefix of the subnet, default routes via the gateways", () => {
    expect(buildIpamResult([v6, v4], false, "1.0.0")).toEqual({
      cniVersion: "1.0.0",
      ips: [
        { address: "172.31.32.184/24", gateway: "172.31.32.1" },
        { address: "2406:da1e:c4:ed02:7a2e::5/64", gateway: "2406:da1e:c4:ed02::1" },
      ],
      routes: [
        { dst: "0.0.0.0/0", gw: "172.31.32.1" },
        { dst: "::/0", gw: "2406:da1e:c4:ed02::1" },
      ],
    });
  });

  it("cleangateway drops the default routes but keeps the gateways", () => {
    expect(buildIpamResult([v4, v6], true, "0.3.1")).toEqual({
      cniVersion: "0.3.1",
      ips: [
        { address: "172.31.32.184/24", gateway: "172.31.32.1" },
        { address: "2406:da1e:c4:ed02:7a2e::5/64", gateway: "2406:da1e:c4:ed02::1" },
      ],
    });
  });

  it("pool routes come first; no gateway means no default route and no gateway field", () => {
    const routed = buildPool(
      poolDoc("routed", {
        subnet: "10.0.0.0/24",
        ips: ["10.0.0.10"],
        gateway: "10.0.0.1",
        routes: [
          { dst: "10.96.0.0/12", gw: "10.0.0.254" },
          { dst: "192.168.0.0/16", gw: "10.0.0.1" },
        ],
      }),
      "inline",
    );
    const bare = buildPool(poolDoc("bare", { subnet: "fd00::/64", ips: ["fd00::10"] }), "inline");
    expect(buildIpamResult([{ pool: bare, ip: parseIP("fd00::10")! }, { pool: routed, ip: parseIP("10.0.0.10")! }], false, "1.1.0")).toEqual({
      cniVersion: "1.1.0",
      ips: [{ address: "10.0.0.10/24", gateway: "10.0.0.1" }, { address: "fd00::10/64" }],
      routes: [
        { dst: "10.96.0.0/12", gw: "10.0.0.254" },
        { dst: "192.168.0.0/16", gw: "10.0.0.1" },
        { dst: "0.0.0.0/0", gw: "10.0.0.1" },
      ],
    });
  });

  it("no allocations: empty ips, no routes", () => {
    expect(buildIpamResult([], false, "1.0.0")).toEqual({ cniVersion: "1.0.0", ips: [] });
  });
});
