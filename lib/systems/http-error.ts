import type { HTTPError } from "ky";

/**
 * What a vendor said in a failed HTTP answer: what `extract` finds in its JSON body, else the start of
 * its text (a proxy's HTML page, an empty 404), at most 300 characters. Never throws.
 */
export async function vendorMessage(
  error: HTTPError,
  extract?: (body: unknown) => string | undefined,
): Promise<string> {
  const text = await error.response
    .clone()
    .text()
    .catch(() => "");
  if (extract) {
    try {
      const found = extract(JSON.parse(text));
      if (found !== undefined) return found.slice(0, 300);
    } catch {
      // not JSON
    }
  }
  return text.slice(0, 300);
}
