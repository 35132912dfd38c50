using Foresight.Core.Surveys;

namespace Foresight.Server.Plumbing;

/// <summary>
/// The language of a page and its interface strings. The language comes from ?lang= (remembered in a cookie),
/// then the cookie, then the page's preference (an expert's language), then the browser's Accept-Language;
/// Chinese by default.
/// </summary>
public sealed class Ui(IHttpContextAccessor accessor)
{
    public const string Cookie = "fs-lang";
    string? _lang;
    string? _preferred;

    public string Lang => _lang ??= Resolve();

    public bool Chinese => Lang == Languages.Chinese;

    /// <summary>The other language, for the switch link.</summary>
    public string Other => Chinese ? Languages.English : Languages.Chinese;

    public string OtherName => Chinese ? "English" : "中文";

    /// <summary>The language to use when the request does not choose one (an expert's own language), before Accept-Language.</summary>
    public void Prefer(string? lang)
    {
        if (_lang is not null) throw new InvalidOperationException("the page language was already decided");
        _preferred = Languages.Normalize(lang);
    }

    /// <summary>Whether this request chose its language (?lang= or the cookie).</summary>
    public string? Chosen()
    {
        var http = accessor.HttpContext;
        return Languages.Normalize(http?.Request.Query["lang"]) ?? Languages.Normalize(http?.Request.Cookies[Cookie]);
    }

    public string T(string key) => UiStrings.Get(key, Lang);

    public string T(string key, params object?[] args) => string.Format(UiStrings.Get(key, Lang), args);

    public string Text(LocalizedText? text) => text?.Get(Lang) ?? "";

    /// <summary>A stored time as pages show it: UTC, as the server cannot know the reader's zone without script.</summary>
    public static string When(string? iso) => iso is null ? "" :
        DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture).UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'",
        System.Globalization.CultureInfo.InvariantCulture);

    string Resolve()
    {
        var http = accessor.HttpContext;
        if (http is null) return Languages.Chinese;
        if (Languages.Normalize(http.Request.Query["lang"]) is { } fromQuery)
        {
            http.Response.Cookies.Append(Cookie, fromQuery, new CookieOptions
            {
                HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = http.Request.IsHttps, MaxAge = TimeSpan.FromDays(365), IsEssential = true,
            });
            return fromQuery;
        }
        if (Languages.Normalize(http.Request.Cookies[Cookie]) is { } fromCookie) return fromCookie;
        if (_preferred is not null) return _preferred;
        var accept = http.Request.Headers.AcceptLanguage.ToString();
        foreach (var part in accept.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            if (Languages.Normalize(part.Split(';')[0]) is { } l) return l;
        return Languages.Chinese;
    }
}
