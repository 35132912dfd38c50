namespace Foresight.Core.Insights;

/// <summary>Country names as the exports write them, merged to one spelling so shares add up across sources.</summary>
public static class CountryNames
{
    // Only the variants Scopus and Web of Science are known to write differently; anything else is kept as written.
    static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["USA"] = "United States", ["U.S.A."] = "United States", ["US"] = "United States", ["United States of America"] = "United States",
        ["Peoples R China"] = "China", ["People's Republic of China"] = "China", ["PR China"] = "China", ["P.R. China"] = "China", ["P. R. China"] = "China",
        ["UK"] = "United Kingdom", ["England"] = "United Kingdom", ["Scotland"] = "United Kingdom", ["Wales"] = "United Kingdom",
        ["North Ireland"] = "United Kingdom", ["Northern Ireland"] = "United Kingdom",
        ["South Korea"] = "South Korea", ["Korea"] = "South Korea", ["Republic of Korea"] = "South Korea", ["Korea, Republic of"] = "South Korea",
        ["Russian Federation"] = "Russia", ["Russia"] = "Russia",
        ["Viet Nam"] = "Vietnam", ["Turkiye"] = "Turkey", ["Türkiye"] = "Turkey",
        ["中国"] = "China", ["美国"] = "United States", ["日本"] = "Japan", ["德国"] = "Germany", ["英国"] = "United Kingdom", ["法国"] = "France", ["韩国"] = "South Korea",
    };

    /// <summary>
    /// One spelling per country: "USA", "... CA 94305 USA" and "United States of America" become "United States",
    /// "Peoples R China" becomes "China", England/Scotland/Wales/North Ireland become "United Kingdom"; a trailing
    /// period is dropped; other names are kept as written.
    /// </summary>
    public static string Normalize(string name)
    {
        var n = name.Trim().TrimEnd('.').Trim();
        if (Aliases.TryGetValue(n, out var a)) return a;
        // Web of Science writes US addresses as "..., Stanford, CA 94305 USA".
        if (n.EndsWith(" USA", StringComparison.Ordinal)) return "United States";
        return n;
    }

    /// <summary>Countries from affiliations: the last comma-separated part of each ';'-separated affiliation, normalized, each once.</summary>
    internal static List<string> FromAffiliations(string? affiliations)
    {
        var result = new List<string>();
        if (string.IsNullOrWhiteSpace(affiliations)) return result;
        foreach (var aff in affiliations.Split(';'))
        {
            var parts = aff.Split(',');
            var last = parts[^1].Trim();
            if (last.Length == 0) continue;
            var country = Normalize(last);
            if (country.Length > 0 && !result.Contains(country)) result.Add(country);
        }
        return result;
    }
}

/// <summary>Language names as exports write them ("English", "Chinese; English") to ISO 639-1 codes.</summary>
public static class LanguageNames
{
    static readonly Dictionary<string, string> Codes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["English"] = "en", ["Chinese"] = "zh", ["Japanese"] = "ja", ["Korean"] = "ko", ["German"] = "de", ["French"] = "fr",
        ["Spanish"] = "es", ["Russian"] = "ru", ["Portuguese"] = "pt", ["Italian"] = "it", ["中文"] = "zh", ["英文"] = "en",
    };

    /// <summary>The first language listed, as an ISO 639-1 code when known, otherwise lower-case as written; null when empty.</summary>
    public static string? Normalize(string? language)
    {
        var first = Fields.SplitList(language).FirstOrDefault();
        if (first is null) return null;
        return Codes.TryGetValue(first, out var code) ? code : first.ToLowerInvariant();
    }
}
