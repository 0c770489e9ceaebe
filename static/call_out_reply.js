// The call-out reply page's two answers (teams/templates/call_out_reply.html): a file of its own,
// as the content security policy allows no inline script.
"use strict";
(function () {
  var main = document.querySelector("main");
  var neededBy = main.dataset.neededBy ? new Date(main.dataset.neededBy) : null;
  document.querySelectorAll("button").forEach(function (button) {
    button.addEventListener("click", function () {
      var body = {answer: button.dataset.answer || "coming"};
      if (button.dataset.minutes) {
        var arriving = new Date(Date.now() + Number(button.dataset.minutes) * 60000);
        body.arriving_at = (neededBy && arriving > neededBy ? neededBy : arriving).toISOString();
      }
      fetch(location.pathname, {method: "POST", body: JSON.stringify(body),
            headers: {"Content-Type": "application/json", "Accept": "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          document.getElementById("said").textContent = answer.message
            || (answer.answer === "coming" ? "已收到：您能来，谢谢！请注意安全。"
                                           : "已收到，谢谢您！");
        });
    });
  });
})();
