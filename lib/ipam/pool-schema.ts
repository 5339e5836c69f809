// The shape of a SpiderIPPool document. Structure only: whether addresses parse and
// fit the subnet is checked in pool.ts, where the parsed values are needed anyway.
// Objects are strict so that an unknown field is refused, never silently ignored.

import { z } from "zod";

export const POOL_API_VERSION = "spiderpool.spidernet.io/v2beta1";
export const POOL_KIND = "SpiderIPPool";

// Kubernetes object names are DNS-1123 subdomains.
export const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const LabelSelectorRequirementSchema = z
  .strictObject({
    key: z.string().min(1),
    operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
    values: z.array(z.string()).optional(),
  })
  .superRefine((req, ctx) => {
    const count = req.values?.length ?? 0;
    // Same rule as Kubernetes: set operators need values, existence operators take none.
    if ((req.operator === "In" || req.operator === "NotIn") && count === 0) {
      ctx.addIssue({ code: "custom", path: ["values"], message: `operator ${req.operator} needs at least one value` });
    }
    if ((req.operator === "Exists" || req.operator === "DoesNotExist") && count > 0) {
      ctx.addIssue({ code: "custom", path: ["values"], message: `operator ${req.operator} takes no values` });
    }
  });

export const LabelSelectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z.array(LabelSelectorRequirementSchema).optional(),
});

export type LabelSelector = z.infer<typeof LabelSelectorSchema>;

const RouteSchema = z.strictObject({ dst: z.string(), gw: z.string() });

export const SpiderIPPoolSpecSchema = z.strictObject({
  ipVersion: z.literal([4, 6]).optional(),
  subnet: z.string(),
  ips: z.array(z.string()).optional(),
  excludeIPs: z.array(z.string()).optional(),
  gateway: z.string().optional(),
  routes: z.array(RouteSchema).optional(),
  default: z.boolean().optional(),
  disable: z.boolean().optional(),
  nodeName: z.array(z.string()).optional(),
  nodeAffinity: LabelSelectorSchema.optional(),
  namespaceName: z.array(z.string()).optional(),
  namespaceAffinity: LabelSelectorSchema.optional(),
  podAffinity: LabelSelectorSchema.optional(),
  multusName: z.array(z.string()).optional(),
  // Removed upstream; kept in the schema only so pool.ts can refuse it by name.
  vlan: z.unknown().optional(),
});

export const SpiderIPPoolSchema = z.strictObject({
  apiVersion: z.literal(POOL_API_VERSION),
  kind: z.literal(POOL_KIND),
  // Metadata is loose: labels, annotations, uid... of an exported object do no harm.
  metadata: z.looseObject({
    name: z
      .string()
      .min(1)
      .max(253)
      .regex(DNS1123_SUBDOMAIN, "must be a DNS-1123 name (lowercase letters, digits, '-' and '.')"),
  }),
  spec: SpiderIPPoolSpecSchema,
  // Upstream's runtime state; our allocations live in the store, so it is ignored.
  status: z.unknown().optional(),
});

export type SpiderIPPoolDoc = z.infer<typeof SpiderIPPoolSchema>;
