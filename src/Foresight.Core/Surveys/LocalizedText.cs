namespace Foresight.Core.Surveys;

/// <summary>The languages a survey can be written and answered in.</summary>
public static class Languages
{
    public const string Chinese = "zh-CN";
    public const string English = "en";
    public static readonly IReadOnlyList<string> All = [Chinese, English];

    /// <summary>Maps what a browser or a user sends ("zh", "zh-Hans", "EN-us") to a supported language, or null.</summary>
    public static string? Normalize(string? language)
    {
        if (string.IsNullOrWhiteSpace(language)) return null;
        var l = language.Trim().ToLowerInvariant();
        if (l.StartsWith("zh")) return Chinese;
        if (l.StartsWith("en")) return English;
        return null;
    }
}

/// <summary>A text in the survey's languages (zh-CN and/or en).</summary>
public sealed record LocalizedText(string? Zh, string? En)
{
    /// <summary>The text in the wanted language, falling back to the other one.</summary>
    public string Get(string language) =>
        (language == Languages.Chinese ? Zh ?? En : En ?? Zh) ?? "";

    public string? this[string language] => language == Languages.Chinese ? Zh : language == Languages.English ? En : null;

    public override string ToString() => En ?? Zh ?? "";
}
