using System.Text.Json.Serialization;
using System.Globalization;
using System.Text.Json;
using Foresight.Core.Statistics;
using Foresight.Core.Surveys;

namespace Foresight.Core.Answers;

/// <summary>
/// An answer in its stored form: <see cref="Text"/> is canonical (an option code, a number, codes joined by ';',
/// the free text, or "dont_know" / "never"); <see cref="Number"/> is what the statistics use.
/// </summary>
public sealed record AnswerValue(string Text, double? Number, AnswerMark Mark)
{
    public const string DontKnowText = "dont_know";
    public const string NeverText = "never";

    public static readonly AnswerValue DontKnow = new(DontKnowText, null, AnswerMark.DontKnow);
    public static readonly AnswerValue Never = new(NeverText, null, AnswerMark.Never);

    [JsonIgnore]
    public IReadOnlyList<string> Codes => Text.Split(';', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The value as JSON for the API: numbers as numbers, codes as strings, selections as a list.</summary>
    public object ToJson(Question q) => Mark != AnswerMark.Valid ? Text : q.Kind switch
    {
        QuestionKind.MultiChoice => Codes,
        QuestionKind.Rating => Number!.Value,
        QuestionKind.Year when q.Options.Count == 0 => Number!.Value,
        QuestionKind.Ordinal or QuestionKind.Choice or QuestionKind.Year when
            double.TryParse(Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) => n,
        _ => Text,
    };

    /// <summary>Rebuilds the stored form from the database columns.</summary>
    public static AnswerValue FromStored(string text, double? number) => text switch
    {
        DontKnowText => DontKnow,
        NeverText => Never,
        _ => new AnswerValue(text, number, AnswerMark.Valid),
    };

    /// <summary>Validates one submitted JSON value against a question. Returns the stored form or a sentence for the expert.</summary>
    public static (AnswerValue? Value, string? Error) Parse(Question q, JsonElement json)
    {
        if (json.ValueKind == JsonValueKind.String)
        {
            var s = json.GetString()!.Trim();
            if (s == DontKnowText)
                return q.AllowDontKnow ? (DontKnow, null) : (null, $"'{q.Id}' does not offer \"don't know\"");
            if (s == NeverText)
                return q.AllowNever ? (Never, null) : (null, $"'{q.Id}' does not offer \"never\"");
        }
        return q.Kind switch
        {
            QuestionKind.Ordinal or QuestionKind.Choice => OneOption(q, json),
            QuestionKind.Rating => Rating(q, json),
            QuestionKind.Year => Year(q, json),
            QuestionKind.MultiChoice => Multi(q, json),
            QuestionKind.Text => FreeText(q, json),
            _ => (null, $"'{q.Id}' cannot be answered"),
        };
    }

    static string? Scalar(JsonElement json) => json.ValueKind switch
    {
        JsonValueKind.String => json.GetString()!.Trim(),
        JsonValueKind.Number => json.GetRawText(),
        _ => null,
    };

    static string List(IEnumerable<Option> options) => string.Join(", ", options.Select(o => o.Code));

    static (AnswerValue?, string?) OneOption(Question q, JsonElement json)
    {
        var code = Scalar(json);
        var option = code is null ? null : q.OptionByCode(code)
            ?? (double.TryParse(code, NumberStyles.Float, CultureInfo.InvariantCulture, out var n)
                ? q.Options.FirstOrDefault(o => double.TryParse(o.Code, NumberStyles.Float, CultureInfo.InvariantCulture, out var c) && c == n)
                : null);
        if (option is null)
            return (null, $"'{q.Id}' takes one of {List(q.Options)}{Specials(q)}; got {Show(json)}");
        return (new AnswerValue(option.Code, option.Value, AnswerMark.Valid), null);
    }

    static (AnswerValue?, string?) Rating(Question q, JsonElement json)
    {
        var text = Scalar(json);
        if (text is null || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v != Math.Floor(v) || v < q.Min || v > q.Max)
            return (null, $"'{q.Id}' takes a whole number from {q.Min} to {q.Max}{Specials(q)}; got {Show(json)}");
        return (new AnswerValue(((int)v).ToString(CultureInfo.InvariantCulture), v, AnswerMark.Valid), null);
    }

    static (AnswerValue?, string?) Year(Question q, JsonElement json)
    {
        var text = Scalar(json);
        if (q.Options.Count > 0)
        {
            var period = text is null ? null : q.OptionByCode(text);
            return period is null
                ? (null, $"'{q.Id}' takes one of the periods {List(q.Options)}{Specials(q)}; got {Show(json)}")
                : (new AnswerValue(period.Code, period.Value, AnswerMark.Valid), null);
        }
        if (text is null || !int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var year) || year < q.Min || year > q.Max)
            return (null, $"'{q.Id}' takes a year from {q.Min} to {q.Max}{Specials(q)}; got {Show(json)}");
        return (new AnswerValue(year.ToString(CultureInfo.InvariantCulture), year, AnswerMark.Valid), null);
    }

    static (AnswerValue?, string?) Multi(Question q, JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.Array)
            return (null, $"'{q.Id}' takes a list of option codes (at most {q.MaxSelections} of {List(q.Options)}); got {Show(json)}");
        var picked = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in json.EnumerateArray())
        {
            var code = Scalar(item);
            var option = code is null ? null : q.OptionByCode(code);
            if (option is null) return (null, $"'{q.Id}' has no option {Show(item)}; its options are {List(q.Options)}");
            if (!picked.Add(option.Code)) return (null, $"'{q.Id}' lists option {option.Code} twice");
        }
        if (picked.Count == 0) return (null, $"'{q.Id}' needs at least one option; send null to clear the answer");
        if (picked.Count > q.MaxSelections) return (null, $"'{q.Id}' takes at most {q.MaxSelections} options; got {picked.Count}");
        var ordered = q.Options.Where(o => picked.Contains(o.Code)).Select(o => o.Code);
        return (new AnswerValue(string.Join(';', ordered), null, AnswerMark.Valid), null);
    }

    static (AnswerValue?, string?) FreeText(Question q, JsonElement json)
    {
        if (json.ValueKind != JsonValueKind.String) return (null, $"'{q.Id}' takes text; got {Show(json)}");
        var text = json.GetString()!.Trim();
        if (text.Length == 0) return (null, $"'{q.Id}' is empty; send null to clear the answer");
        if (text.Length > q.MaxLength) return (null, $"'{q.Id}' takes at most {q.MaxLength} characters; got {text.Length}");
        return (new AnswerValue(text, null, AnswerMark.Valid), null);
    }

    static string Specials(Question q) =>
        (q.AllowDontKnow ? ", \"dont_know\"" : "") + (q.AllowNever ? ", \"never\"" : "");

    static string Show(JsonElement json)
    {
        var raw = json.GetRawText();
        return raw.Length > 40 ? raw[..40] + "..." : raw;
    }
}
