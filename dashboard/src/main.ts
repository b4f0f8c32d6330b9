// The dashboard's entry point (index.html loads it): importing an element module defines its
// custom element, so this is the one place that decides which elements the page has.
import "./pf-health-badge.js";
import "./pf-app.js";
