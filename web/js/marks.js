// User Timing entries that `make bench` reads from the page (nothing in the
// page reads them back): when the first view became usable, how long a
// folder took from navigation to its list's first paint, and how long an
// upload took from start to the server's answer. They are recorded in the
// browser's own timeline and cost nothing when no one looks.

const INTERACTIVE = 'nexus:interactive';

// The first view can be used (a form to fill, a list to click). Only the
// first call counts; its startTime is milliseconds since navigation start.
export function interactive() {
  if (performance.getEntriesByName(INTERACTIVE, 'mark').length === 0) {
    performance.mark(INTERACTIVE);
  }
}

// The listing of `path`, asked for at `since` (performance.now()), has just
// been put in the DOM: the measure ends once that frame has been painted
// (a task queued from requestAnimationFrame runs after the paint).
export function listingPainted(path, since) {
  requestAnimationFrame(() => setTimeout(() => {
    performance.measure('nexus:listing', {start: since, end: performance.now(), detail: path});
  }, 0));
}

// The upload of `path`, started at `since`, has been stored.
export function uploadDone(path, since) {
  performance.measure('nexus:upload', {start: since, end: performance.now(), detail: path});
}
