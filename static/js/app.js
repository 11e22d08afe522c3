// Small progressive enhancements; every page works without them.
(function () {
  "use strict";

  // Ask before destructive posts: <form data-confirm="…">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target : null;
    if (!target) return;

    // Print buttons on the poster page: <button data-print>.
    if (target.closest("[data-print]")) {
      window.print();
      return;
    }

    // 加载更多: fetch the next cards and append them in place.
    var more = target.closest("[data-load-more]");
    if (more) {
      event.preventDefault();
      more.textContent = "加载中…";
      fetch(more.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.text();
        })
        .then(function (html) {
          var holder = more.closest(".load-more");
          var range = document.createRange();
          holder.parentNode.insertBefore(range.createContextualFragment(html), holder);
          holder.remove();
        })
        .catch(function () {
          window.location.href = more.href;
        });
      return;
    }

    // 回复 @某人: fill the reply form instead of reloading the page.
    var replyLink = target.closest("[data-reply-to]");
    if (replyLink) {
      var form = document.getElementById("reply-form");
      if (!form) return;
      event.preventDefault();
      form.querySelector("[data-reply-target]").value = replyLink.getAttribute("data-reply-to");
      form.querySelector("[data-reply-banner-text]").textContent = "回复 @" + replyLink.getAttribute("data-reply-name");
      form.querySelector("[data-reply-banner]").hidden = false;
      form.querySelector("textarea").focus();
      return;
    }
    var cancel = target.closest("[data-reply-cancel]");
    if (cancel) {
      event.preventDefault();
      var replyForm = cancel.closest("form");
      replyForm.querySelector("[data-reply-target]").value = "";
      replyForm.querySelector("[data-reply-banner]").hidden = true;
    }
  });

  // 赞: toggle without leaving the page.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("[data-like]") || event.defaultPrevented) return;
    event.preventDefault();
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (data) {
        var button = form.querySelector("button");
        button.classList.toggle("like-button_on", data.liked);
        button.setAttribute("aria-pressed", data.liked ? "true" : "false");
        form.querySelector("[data-like-count]").textContent = data.like_count;
        form.querySelector("[data-like-label]").textContent = data.liked ? "已赞" : "赞";
        var icon = form.querySelector("[data-like-icon]");
        icon.src = icon.src.replace(/icon-liked?\.svg/, data.liked ? "icon-liked.svg" : "icon-like.svg");
      })
      .catch(function () {
        form.submit();
      });
  });

  // Photo previews while composing; too many or too large photos are refused before the upload
  // (the server would refuse them too, after the wait).
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-photo-input]")) return;
    var previews = input.closest("form").querySelector("[data-photo-previews]");
    var files = Array.prototype.slice.call(input.files);
    var maxCount = Number(input.getAttribute("data-max-count"));
    var maxBytes = Number(input.getAttribute("data-max-bytes"));
    var tooLarge = files.filter(function (file) { return file.size > maxBytes; });
    previews.textContent = "";
    var problem = "";
    if (files.length > maxCount) {
      problem = "最多上传" + maxCount + "张照片，请重新选择";
    } else if (tooLarge.length) {
      problem = "“" + tooLarge[0].name + "”超过" + Math.round(maxBytes / 1048576) + "MB，请压缩后重新选择";
    }
    if (problem) {
      input.value = "";
      var warning = document.createElement("p");
      warning.className = "field-error";
      warning.textContent = problem;
      previews.appendChild(warning);
      return;
    }
    files.forEach(function (file) {
      var image = document.createElement("img");
      image.alt = file.name;
      image.src = URL.createObjectURL(file);
      previews.appendChild(image);
    });
  });

  // 这些帖子可能与你的问题相同: as a title is typed in 身边事, show open posts that may match.
  var similar = document.querySelector("[data-similar]");
  if (similar) {
    var form = similar.closest("form");
    var title = form.querySelector("input[name=title]");
    var list = similar.querySelector("[data-similar-list]");
    var token = form.querySelector("input[name=csrf_token]");
    var timer = null;
    var shown = "";

    var render = function (posts) {
      list.textContent = "";
      posts.forEach(function (post) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = post.url;
        link.textContent = post.title + (post.affected ? "（" + post.affected + "户也遇到）" : "");
        var button = document.createElement("button");
        button.type = "button";
        button.textContent = "我也遇到";
        button.addEventListener("click", function () {
          var body = new FormData();
          if (token) body.append("csrf_token", token.value);
          fetch(post.me_too_url, { method: "POST", body: body, headers: { Accept: "application/json" },
                                   credentials: "same-origin" })
            .then(function (response) { return response.json(); })
            .then(function (data) {
              button.disabled = true;
              button.textContent = data.error ? data.error : "已添加（" + data.affected + "户）";
            });
        });
        item.appendChild(link);
        item.appendChild(button);
        list.appendChild(item);
      });
      similar.hidden = posts.length === 0;
    };

    title.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var text = title.value.trim();
        if (text.length < 2 || text === shown) return;
        shown = text;
        fetch(similar.getAttribute("data-similar-url") + "?title=" + encodeURIComponent(text),
              { headers: { Accept: "application/json" }, credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.json() : { posts: [] }; })
          .then(function (data) { render(data.posts); });
      }, 350);
    });
  }
})();
