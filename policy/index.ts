// The policy pack: `pulumi preview --policy-pack policy` (README, "Policy as code").
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./rules";

new PolicyPack("eks-nginx", { policies: POLICIES });
