// The shape of a SpiderMultusConfig document (upstream v2beta1, as far as an
// ipvlan NetworkAttachmentDefinition needs it). Objects are strict: an unknown
// field is refused by name, never dropped. Fields upstream has but we cannot
// honour stay in the schema as `unknown` so spidermultus.ts refuses them with
// the reason, not as "unknown".
import { z } from "zod";
import { DNS1123_SUBDOMAIN } from "../ipam/pool-schema";

export const SMC_API_VERSION = "spiderpool.spidernet.io/v2beta1";
export const SMC_KIND = "SpiderMultusConfig";

// Namespaces are DNS-1123 labels (no dots).
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const ObjectName = z.string().min(1).max(253).regex(DNS1123_SUBDOMAIN, "must be a DNS-1123 name (lowercase letters, digits, '-' and '.')");
const PoolNames = z.array(z.string().min(1, "a pool name may not be empty"));

export const SpiderpoolPoolsSchema = z.strictObject({
  ipv4: PoolNames.optional(),
  ipv6: PoolNames.optional(),
});

export const SpiderIPvlanConfigSchema = z.strictObject({
  master: z.array(z.string()).min(1, "needs at least one interface"),
  vlanID: z.int().min(0).max(4094).optional(),
  // Upstream allows any mtu >= 0; ipvlan-attach refuses what the kernel would, so do we, early.
  mtu: z
    .int()
    .refine((v) => v === 0 || (v >= 68 && v <= 65535), "must be 0 (inherit the master's) or from 68 to 65535")
    .optional(),
  ippools: SpiderpoolPoolsSchema.optional(),
  bond: z.unknown().optional(),
  rdmaResourceName: z.unknown().optional(),
});

// Upstream's CoordinatorSpec (v2beta1, the fields a SpiderMultusConfig may set).
// coordinator.ts maps what ipvlan-attach can honour and refuses the rest by name.
export const CoordinatorSpecSchema = z.strictObject({
  mode: z.enum(["auto", "underlay", "overlay", "disabled"]).optional(),
  podCIDRType: z.enum(["auto", "cluster", "calico", "cilium", "none"]).optional(),
  hijackCIDR: z.array(z.string()).optional(),
  podMACPrefix: z.string().optional(),
  tunePodRoutes: z.boolean().optional(),
  podDefaultRouteNIC: z.string().optional(),
  hostRuleTable: z.int().optional(),
  hostRPFilter: z.int().optional(),
  // Upstream: a negative value leaves the pod's rp_filter alone.
  podRPFilter: z.int().optional(),
  txQueueLen: z.int().min(0, "must be 0 (leave it) or a positive integer").optional(),
  vethLinkAddress: z.string().optional(),
  detectIPConflict: z.boolean().optional(),
  detectGateway: z.boolean().optional(),
});

export type CoordinatorSpec = z.infer<typeof CoordinatorSpecSchema>;

export const SpiderMultusConfigSchema = z.strictObject({
  apiVersion: z.literal(SMC_API_VERSION),
  kind: z.literal(SMC_KIND),
  // Loose like the pools': labels, uid, resourceVersion... of an exported object do no harm.
  metadata: z.looseObject({
    name: ObjectName,
    namespace: z.string().max(63).regex(DNS1123_LABEL, "must be a DNS-1123 label (lowercase letters, digits and '-')").optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  }),
  spec: z.strictObject({
    cniType: z.string().optional(),
    ipvlan: SpiderIPvlanConfigSchema.optional(),
    enableCoordinator: z.boolean().optional(),
    disableIPAM: z.boolean().optional(),
    chainCNIJsonData: z.array(z.string()).optional(),
    macvlan: z.unknown().optional(),
    sriov: z.unknown().optional(),
    ovs: z.unknown().optional(),
    ibsriov: z.unknown().optional(),
    ipoib: z.unknown().optional(),
    coordinator: CoordinatorSpecSchema.optional(),
    customCNI: z.unknown().optional(),
  }),
});

export type SpiderMultusConfigDoc = z.infer<typeof SpiderMultusConfigSchema>;
