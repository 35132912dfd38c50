using System.Text.Json;
using Foresight.Core.Statistics;
using Foresight.Core.Surveys;

namespace Foresight.Core.Answers;

/// <summary>One expert's current answer to one question of a topic, with its rationale.</summary>
public sealed record QuestionAnswer(AnswerValue Value, string? Rationale);

/// <summary>What is wrong with a submission, so a page can say it in the expert's language next to the question.</summary>
public enum AnswerErrorKind
{
    /// <summary>Not a question of the survey, or not asked in this round.</summary>
    NotAsked,
    /// <summary>The value does not fit the question's scale, options or limits.</summary>
    Value,
    /// <summary>A rationale that is too long, or given for a question without an answer.</summary>
    Rationale,
    /// <summary>The topic is marked "not familiar", which skips its other questions.</summary>
    Skipped,
    /// <summary>A conditional question whose condition does not hold.</summary>
    Condition,
    /// <summary>A year earlier than the year it may not precede.</summary>
    Order,
    /// <summary>The rules ask for a rationale for this answer.</summary>
    RationaleNeeded,
}

/// <param name="Message">the problem in English, as the API reports it</param>
public sealed record AnswerError(string? Question, AnswerErrorKind Kind, string Message)
{
    public override string ToString() => Message;
}

/// <summary>The previous round's quartiles of a question, for the "rationale outside the IQR" rule.</summary>
public readonly record struct PreviousQuartiles(double Q1, double Q3);

/// <summary>
/// Applies a submission (some questions of one topic) to an expert's current answers and checks the topic's
/// rules together: the round's questions, the rules between answers (<see cref="AnswerRules"/>: "not familiar"
/// skipping the topic, conditions between questions, required rationales) and year order. Either every change is
/// accepted or none is.
/// </summary>
public static class TopicAnswers
{
    public const int MaxRationaleLength = 2000;

    public sealed record Outcome(IReadOnlyDictionary<string, QuestionAnswer> Answers, IReadOnlyList<AnswerError> Errors)
    {
        public bool Ok => Errors.Count == 0;
    }

    /// <param name="current">the expert's answers to this topic so far</param>
    /// <param name="values">question id → new value (JSON null clears the answer)</param>
    /// <param name="rationales">question id → rationale text (empty clears it)</param>
    /// <param name="previous">the previous round's quartiles of a question of this topic, if any</param>
    public static Outcome Apply(
        SurveyDefinition survey, int round,
        IReadOnlyDictionary<string, QuestionAnswer> current,
        IReadOnlyDictionary<string, JsonElement> values,
        IReadOnlyDictionary<string, string?> rationales,
        Func<string, PreviousQuartiles?> previous) =>
        Apply(AnswerRules.For(survey, round, previous), current, values, rationales);

    public static Outcome Apply(
        AnswerRules rules,
        IReadOnlyDictionary<string, QuestionAnswer> current,
        IReadOnlyDictionary<string, JsonElement> values,
        IReadOnlyDictionary<string, string?> rationales)
    {
        var survey = rules.Survey;
        int round = rules.Round;
        var errors = new List<AnswerError>();
        var next = new Dictionary<string, QuestionAnswer>(current, StringComparer.Ordinal);

        foreach (var (id, json) in values)
        {
            var q = survey.Question(id);
            if (q is null) { errors.Add(new(id, AnswerErrorKind.NotAsked, $"the survey has no question '{id}'")); continue; }
            if (!q.AskedIn(round)) { errors.Add(new(id, AnswerErrorKind.NotAsked, $"question '{id}' is not asked in round {round}")); continue; }
            if (json.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) { next.Remove(id); continue; }
            var (value, error) = AnswerValue.Parse(q, json);
            if (error is not null) { errors.Add(new(id, AnswerErrorKind.Value, error)); continue; }
            var keep = next.TryGetValue(id, out var old) ? old.Rationale : null;
            next[id] = new QuestionAnswer(value!, keep);
        }
        foreach (var (id, text) in rationales)
        {
            var q = survey.Question(id);
            if (q is null) { errors.Add(new(id,
                AnswerErrorKind.NotAsked, $"a rationale is given for '{id}', which is not a question of the survey")); continue; }
            var trimmed = text?.Trim();
            if (trimmed is { Length: > MaxRationaleLength }) { errors.Add(new(id,
                AnswerErrorKind.Rationale, $"the rationale for '{id}' has {trimmed.Length} characters; at most {MaxRationaleLength} are taken")); continue; }
            if (!next.TryGetValue(id, out var a))
            {
                if (!string.IsNullOrEmpty(trimmed)) errors.Add(new(id, AnswerErrorKind.Rationale, $"a rationale is given for '{id}', which has no answer"));
                continue;
            }
            next[id] = a with { Rationale = string.IsNullOrEmpty(trimmed) ? null : trimmed };
        }
        if (errors.Count > 0) return new(current, errors);

        // A question not asked ("not familiar" skips the topic, a condition that does not hold) takes no answer: one
        // sent is refused, a stored one is cleared.
        foreach (var (id, why) in rules.NotAsked(q => next.TryGetValue(q, out var a) ? a.Value.Text : null))
        {
            if (!next.Remove(id)) continue;
            if (!values.TryGetValue(id, out var v) || v.ValueKind == JsonValueKind.Null) continue;
            errors.Add(why.Kind == AnswerErrorKind.Skipped
                ? new(id,
                AnswerErrorKind.Skipped, $"'{id}' cannot be answered: this topic is marked \"{SkipLabel(survey, next, why)}\", which skips its other questions")
                : new(id, AnswerErrorKind.Condition, $"'{id}' is asked only when '{why.Question}' is {string.Join(" or ", why.Codes)}"));
        }

        foreach (var q in survey.Questions.Where(q => q.NotBefore is not null))
        {
            if (next.TryGetValue(q.Id, out var later) && next.TryGetValue(q.NotBefore!, out var earlier)
                && later.Value.Number is { } l && earlier.Value.Number is { } e && l < e)
                errors.Add(new(q.Id, AnswerErrorKind.Order, $"'{q.Id}' ({later.Value.Text}) cannot be earlier than '{q.NotBefore}' ({earlier.Value.Text})"));
        }

        foreach (var (id, answer) in next)
        {
            if (answer.Rationale is not null || !(values.ContainsKey(id) || rationales.ContainsKey(id))) continue;
            if (!rules.NeedsRationale(id, answer.Value)) continue;
            errors.Add(rules.Quartiles(id) is { } iqr
                ? new(id,
                AnswerErrorKind.RationaleNeeded, $"'{id}' needs a rationale: your answer {answer.Value.Text} lies outside the previous round's interquartile " +
                $"range ({Fmt(iqr.Q1)} to {Fmt(iqr.Q3)})")
                : new(id, AnswerErrorKind.RationaleNeeded, $"'{id}' needs a rationale: say briefly why you answered {answer.Value.Text}"));
        }

        return errors.Count > 0 ? new(current, errors) : new(next, []);
    }

    /// <summary>The label of the option that skips the topic, as the expert gave it (in English, as the API speaks).</summary>
    static string SkipLabel(SurveyDefinition survey, IReadOnlyDictionary<string, QuestionAnswer> next, Clause why)
    {
        var familiarity = survey.Question(why.Question)!;
        var code = next.TryGetValue(why.Question, out var a) ? a.Value.Text : why.Codes[0];
        return familiarity.OptionByCode(code)?.Label.Get(Languages.English) ?? code;
    }

    /// <summary>Whether the expert has finished the topic: marked it not familiar, or answered every required question asked.</summary>
    public static bool IsComplete(SurveyDefinition survey, int round, IReadOnlyDictionary<string, QuestionAnswer> answers)
    {
        var rules = AnswerRules.For(survey, round);
        string? Code(string q) => answers.TryGetValue(q, out var a) ? a.Value.Text : null;
        if (rules.Skips(Code)) return true;
        foreach (var q in survey.Questions)
        {
            if (!q.Required || !q.AskedIn(round) || !rules.IsAsked(q.Id, Code)) continue;
            if (!answers.ContainsKey(q.Id)) return false;
        }
        return answers.Count > 0;
    }

    static string Fmt(double v) => v.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture);
}
