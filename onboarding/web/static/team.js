/* What htmx leaves unsaid on the team's pages (served from /static: the pages' CSP allows scripts from here).
   A refusal (4xx) is a page of its own, which htmx-config swaps in place of the body. A server error (5xx) or a
   request that never reached the server changes nothing on screen by itself: the row whose form was sent says
   so, in its one alert. */
"use strict";

function sayInRow(event, text) {
  const target = event.detail && event.detail.target;
  const row = target && target.closest ? target.closest("tr") : null;
  if (!row) {
    window.alert(text);
    return;
  }
  let alert = row.querySelector('[role="alert"]');
  if (!alert) {
    alert = document.createElement("p");
    alert.className = "problem";
    alert.setAttribute("role", "alert");
    (row.querySelector('td[data-label="Task"]') || row.cells[0]).append(alert);
  }
  alert.textContent = text;
}

document.addEventListener("htmx:sendError", function (event) {
  sayInRow(event, "The change did not reach the server: nothing was changed. Check your connection and try again.");
});

document.addEventListener("htmx:responseError", function (event) {
  if (event.detail.xhr.status >= 500) {
    sayInRow(
      event,
      "The server could not make the change (error " + event.detail.xhr.status + "). " +
        "Reload the page to see whether it was made before you try again."
    );
  }
});
