// The public API, from the page's own origin (and the server's root path, if it has one).

const ROOT = document.documentElement.dataset.root || "";

export function apiUrl(path, params) {
  const query = params ? params.toString() : "";
  return ROOT + path + (query ? `?${query}` : "");
}

export function pageUrl(params) {
  return apiUrl("/explore", params);
}

// An answer other than 2xx, with the problem's own words (RFC 9457 detail and errors).
export class Problem extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function getJson(path, params, signal) {
  const response = await fetch(apiUrl(path, params), { headers: { Accept: "application/json" }, signal });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json();
      message = problem.detail || problem.title || message;
      if (Array.isArray(problem.errors) && problem.errors.length) {
        message += ": " + problem.errors.map((e) => `${(e.loc || []).join(".")} ${e.msg}`).join("; ");
      }
    } catch {
      // not a problem document: the status line says enough
    }
    throw new Problem(response.status, message);
  }
  return response.json();
}
