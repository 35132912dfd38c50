using System.Globalization;
using System.Text.Json;
using Foresight.Core.Answers;
using Foresight.Core.Surveys;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>What one question shows in the form: the chosen code or number, the ticked options, the rationale.</summary>
public sealed record FormAnswer(string? Value, IReadOnlySet<string> Picked, string? Rationale)
{
    public static readonly FormAnswer Empty = new(null, new HashSet<string>(), null);
}

/// <summary>
/// The expert's topic page as an HTML form (it works without JavaScript): field names are a.{question} for the
/// answer (radio, checkboxes, number, text), s.{question} for "don't know" / "never" beside a free year, and
/// r.{question} for the rationale. This turns a posted form into the API's save request, so both go through the
/// same rules: a radio left alone changes nothing, an emptied text or untick-all clears the stored answer,
/// "not familiar" clears the topic's other answers, and a conditional question whose condition no longer holds is
/// cleared rather than refused.
/// </summary>
public static class AnswerForm
{
    public static Dictionary<string, FormAnswer> FromStored(IReadOnlyDictionary<string, AnswerView> answers) =>
        answers.ToDictionary(a => a.Key, a => a.Value.Value switch
        {
            string s => new FormAnswer(s, new HashSet<string>(), a.Value.Rationale),
            IEnumerable<string> codes => new FormAnswer(null, codes.ToHashSet(), a.Value.Rationale),
            double d => new FormAnswer(d.ToString(CultureInfo.InvariantCulture), new HashSet<string>(), a.Value.Rationale),
            var v => new FormAnswer(v?.ToString(), new HashSet<string>(), a.Value.Rationale),
        });

    /// <summary>The form as posted, to show it again with its errors.</summary>
    public static Dictionary<string, FormAnswer> FromPosted(IFormCollection form, IEnumerable<Question> asked)
    {
        var result = new Dictionary<string, FormAnswer>();
        foreach (var q in asked)
        {
            var raw = Raw(form, q);
            var rationale = form[$"r.{q.Id}"].FirstOrDefault();
            result[q.Id] = raw switch
            {
                string[] codes => new FormAnswer(null, codes.ToHashSet(), rationale),
                string s => new FormAnswer(s, new HashSet<string>(), rationale),
                _ => new FormAnswer(null, new HashSet<string>(), rationale),
            };
        }
        return result;
    }

    /// <summary>The posted form's value of a question: a string, a list of codes, or null when nothing was given.</summary>
    static object? Raw(IFormCollection form, Question q)
    {
        var values = form[$"a.{q.Id}"].Select(v => v?.Trim()).Where(v => !string.IsNullOrEmpty(v)).Select(v => v!).ToArray();
        if (q.Kind == QuestionKind.MultiChoice) return values.Length > 0 ? values : null;
        if (q.Kind == QuestionKind.Year && q.Options.Count == 0 && form[$"s.{q.Id}"].FirstOrDefault() is { Length: > 0 } special) return special;
        return values.Length > 0 ? values[0] : null;
    }

    public static SaveTopicRequest ToRequest(IFormCollection form, AnswerRules rules, IReadOnlyList<Question> asked,
        IReadOnlyDictionary<string, AnswerView> current)
    {
        var wanted = new Dictionary<string, object?>();
        foreach (var q in asked)
        {
            var raw = Raw(form, q);
            // An unticked radio group cannot be told from one left alone: it changes nothing. Lists and texts can be emptied.
            bool clearable = q.Kind is QuestionKind.MultiChoice or QuestionKind.Text || (q.Kind == QuestionKind.Year && q.Options.Count == 0);
            if (raw is not null) wanted[q.Id] = raw;
            else if (clearable && current.ContainsKey(q.Id)) wanted[q.Id] = null;
        }

        // A question the rules do not ask given the form ("not familiar", a condition that no longer holds) is
        // cleared rather than refused: the expert changed the answer it depends on.
        var onPage = asked.Select(q => q.Id).ToHashSet();
        foreach (var id in rules.NotAsked(id => Code(rules.Survey.Question(id), wanted.TryGetValue(id, out var v) ? v
            : current.GetValueOrDefault(id)?.Value)).Keys)
        {
            if (!onPage.Contains(id)) continue;
            if (current.ContainsKey(id)) wanted[id] = null; else wanted.Remove(id);
        }

        var rationales = new Dictionary<string, string?>();
        foreach (var q in asked.Where(q => q.Rationale != RationaleRule.None))
        {
            bool answered = wanted.TryGetValue(q.Id, out var v) ? v is not null : current.ContainsKey(q.Id);
            if (!answered || !form.ContainsKey($"r.{q.Id}")) continue;
            var text = form[$"r.{q.Id}"].FirstOrDefault()?.Trim() ?? "";
            if (text != (current.GetValueOrDefault(q.Id)?.Rationale ?? "") || wanted.ContainsKey(q.Id)) rationales[q.Id] = text;
        }
        return new SaveTopicRequest(wanted.ToDictionary(kv => kv.Key, kv => JsonSerializer.SerializeToElement(kv.Value)), rationales);
    }

    /// <summary>An answer as the rules compare it (<see cref="AnswerValue.Text"/>): a code or number as text, ticked options joined by ';' in the question's
    /// order.</summary>
    static string? Code(Question? q, object? value) => value switch
    {
        string s => s,
        double d => d.ToString(CultureInfo.InvariantCulture),
        IEnumerable<string> codes => q is null ? string.Join(';', codes) : string.Join(';', q.Options.Select(o => o.Code).Where(codes.Contains)),
        _ => null,
    };
}
