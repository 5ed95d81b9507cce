/**
 * Kubernetes' own formats that the components rely on and the stack settings check: object names and resource
 * quantities, with the limits the API server enforces, so that a value is refused before `pulumi up` rather
 * than by the API server halfway through it.
 */

/** An RFC 1035 label: what Service names must be (lowercase letters, digits and '-', starting with a letter). */
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Longest label: Service names, namespaces, container names and label values. */
export const MAX_LABEL_LENGTH = 63;

/** True for a DNS label as Kubernetes takes Service names: `sample-service`, at most 63 characters. */
export function isDnsLabel(value: string): boolean {
    return value.length <= MAX_LABEL_LENGTH && DNS_1035_LABEL.test(value);
}

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+)?$/;
const SCALE: Record<string, number> = {
    "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};
/** Longest quantity accepted (the API server's own limit is far longer; no real request needs more). */
const MAX_QUANTITY_LENGTH = 32;

/**
 * The value of a Kubernetes quantity (`250m` → 0.25, `128Mi` → 134217728, `1e3` → 1000), or undefined when it
 * is not one. Non-negative quantities only: resource requests and limits cannot be negative.
 */
export function quantityValue(quantity: string): number | undefined {
    if (quantity.length > MAX_QUANTITY_LENGTH) {
        return undefined;
    }
    const m = QUANTITY.exec(quantity);
    if (!m) {
        return undefined;
    }
    const suffix = m[2] ?? "";
    // `E` alone is exa (10^18); `e`/`E` followed by digits is a decimal exponent.
    const scale = /^[eE][+-]?[0-9]+$/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SCALE[suffix];
    const value = Number(m[1]) * scale;
    return Number.isFinite(value) ? value : undefined;
}
