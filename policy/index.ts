// The policy pack: `pulumi preview --policy-pack policy` (docs/hardening-and-policy.md, "Policy as code").
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./rules";

new PolicyPack("eks-nginx", { policies: POLICIES });
