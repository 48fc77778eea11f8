// Live preview of the SMS templates page: as the merchant types, each
// form's text is filled with the page's example values and counted the way
// the server counts it (src/sms/template.rs renders, src/sms/parts.rs
// counts): GSM-7 when every character is in the alphabet the page carries
// (extension characters take two septets), 160 in one SMS and 153 per part;
// UCS-2 otherwise, in UTF-16 units, 70 and 67. Plain script, no build step.
(function () {
  "use strict";
  var root = document.getElementById("sms-templates");
  if (!root) return;
  var samples = JSON.parse(root.getAttribute("data-samples"));
  var maxChars = Number(root.getAttribute("data-var-max"));
  var uncut = root.getAttribute("data-uncut");
  var basic = JSON.parse(root.getAttribute("data-gsm-basic"));
  var extended = JSON.parse(root.getAttribute("data-gsm-extended"));

  // The text on the sample values and its DLT form, or why it has none.
  function render(text) {
    var out = "";
    var dlt = "";
    var rest = text;
    for (;;) {
      var open = rest.indexOf("{");
      if (open < 0) break;
      out += rest.slice(0, open);
      dlt += rest.slice(0, open);
      var close = rest.indexOf("}", open);
      if (close < 0) return { error: "a '{' is not closed" };
      var name = rest.slice(open + 1, close).trim();
      if (!Object.prototype.hasOwnProperty.call(samples, name)) {
        return { error: "unknown variable {" + name + "}" };
      }
      var value = samples[name];
      // Cut by characters (code points), as the server does.
      out += name === uncut ? value : Array.from(value).slice(0, maxChars).join("");
      dlt += "{#var#}";
      rest = rest.slice(close + 1);
    }
    return { text: out + rest, dlt: dlt + rest };
  }

  function count(text) {
    var septets = 0;
    var gsm = true;
    for (var ch of text) {
      if (basic.indexOf(ch) >= 0) {
        septets += 1;
      } else if (extended.indexOf(ch) >= 0) {
        septets += 2;
      } else {
        gsm = false;
        break;
      }
    }
    var units = gsm ? septets : text.length;
    var single = gsm ? 160 : 70;
    var perPart = gsm ? 153 : 67;
    return {
      encoding: gsm ? "GSM-7" : "UCS-2",
      units: units,
      parts: units <= single ? 1 : Math.ceil(units / perPart),
    };
  }

  // Where the wording and the registered DLT text first differ.
  function dltVerdict(expected, registered) {
    if (expected === registered) return "✓ matches the registered DLT text";
    var a = Array.from(expected);
    var b = Array.from(registered);
    var at = 0;
    while (at < a.length && at < b.length && a[at] === b[at]) at++;
    return "✗ differs from the registered DLT text at character " + (at + 1);
  }

  function update(form) {
    var type = form.getAttribute("data-type");
    var byId = function (id) { return document.getElementById(id + "-" + type); };
    var result = render(byId("text").value);
    var shown = result.error ? "" : result.text;
    var size = count(shown);
    byId("preview").textContent = shown;
    byId("live-error").textContent = result.error || "";
    var box = byId("size");
    box.setAttribute("data-source", "browser");
    box.querySelector(".chars").textContent = String(size.units);
    box.querySelector(".encoding").textContent = size.encoding;
    box.querySelector(".parts").textContent = String(size.parts);
    byId("dlt-expected").textContent = result.error ? "" : result.dlt;
    byId("dlt-match").textContent = result.error ? "" : dltVerdict(result.dlt, byId("dlt_text").value);
  }

  var forms = root.querySelectorAll("form.sms-form");
  for (var i = 0; i < forms.length; i++) {
    (function (form) {
      form.addEventListener("input", function () { update(form); });
    })(forms[i]);
  }
})();
