using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Foresight.Core.Statistics;
using Foresight.Core.Surveys;

namespace Foresight.Core.Answers;

/// <summary>
/// A condition on another question's answer (its canonical text, <see cref="AnswerValue.Text"/>): it holds when that
/// answer is one of <see cref="Codes"/>, or, <see cref="Negated"/>, when it is not (no answer included).
/// </summary>
/// <param name="Kind">why the question is not asked when the condition fails: <see cref="AnswerErrorKind.Skipped"/> or
/// <see cref="AnswerErrorKind.Condition"/></param>
public sealed record Clause(string Question, IReadOnlyList<string> Codes, bool Negated, AnswerErrorKind Kind)
{
    public bool HoldsFor(string? code) => (code is not null && Codes.Contains(code)) != Negated;
}

/// <summary>What governs one question: when it is asked, when its answer needs a rationale, how many options it takes.</summary>
public sealed record QuestionRules(Question Question, IReadOnlyList<Clause> AskedWhen);

/// <summary>
/// The rules between a topic's answers, in one place: "not familiar" skips the topic's other questions, a conditional
/// question is asked only while its condition holds, an answer outside the previous round's interquartile range (or
/// any answer, by the survey's rule) needs a rationale, a multi-choice takes at most its maximum of options. The API's
/// check (<see cref="TopicAnswers"/>), the HTML form and the page's script (through <see cref="ToJson"/>) all use
/// these, so they cannot disagree.
/// </summary>
public sealed class AnswerRules
{
    public SurveyDefinition Survey { get; }
    public int Round { get; }
    /// <summary>Every question of the survey, in its order (questions not asked in the round included, as stored answers may name them).</summary>
    public IReadOnlyList<QuestionRules> Questions { get; }
    readonly Dictionary<string, QuestionRules> _byId;
    readonly Func<string, PreviousQuartiles?> _previous;

    AnswerRules(Structure s, Func<string, PreviousQuartiles?> previous)
    {
        Survey = s.Survey;
        Round = s.Round;
        Questions = s.Questions;
        _byId = s.ById;
        _previous = previous;
    }

    static readonly Func<string, PreviousQuartiles?> NoPrevious = _ => null;

    /// <param name="previous">the previous round's quartiles of a question of the topic, if any</param>
    public static AnswerRules For(SurveyDefinition survey, int round, Func<string, PreviousQuartiles?>? previous = null) =>
        new(Structure.Of(survey, round), previous ?? NoPrevious);

    public QuestionRules? Rules(string question) => _byId.GetValueOrDefault(question);

    /// <summary>
    /// The questions not asked given these answers (question → the condition that fails). Evaluated in the survey's
    /// order; a question found not asked counts as unanswered for the conditions of the questions after it.
    /// </summary>
    /// <param name="code">a question's answer as canonical text, or null when unanswered</param>
    public Dictionary<string, Clause> NotAsked(Func<string, string?> code)
    {
        var notAsked = new Dictionary<string, Clause>(StringComparer.Ordinal);
        foreach (var q in Questions)
            foreach (var c in q.AskedWhen)
                if (!c.HoldsFor(notAsked.ContainsKey(c.Question) ? null : code(c.Question)))
                {
                    notAsked[q.Question.Id] = c;
                    break;
                }
        return notAsked;
    }

    /// <summary>Whether a question is asked given answers that already follow the rules (a stored topic): its conditions alone.</summary>
    public bool IsAsked(string question, Func<string, string?> code) =>
        _byId.TryGetValue(question, out var q) && q.AskedWhen.All(c => c.HoldsFor(code(c.Question)));

    /// <summary>Whether the topic is marked with an option that skips it ("not familiar").</summary>
    public bool Skips(Func<string, string?> code) =>
        Survey.Familiarity is { } f && code(f.Id) is { } c && f.OptionByCode(c) is { SkipsTopic: true };

    /// <summary>The previous round's quartiles a question's answer is held against, when its rationale rule uses them.</summary>
    public PreviousQuartiles? Quartiles(string question) =>
        _byId.TryGetValue(question, out var q) && q.Question.Rationale == RationaleRule.OutsideIqr ? _previous(question) : null;

    /// <summary>Whether this answer needs a rationale: any valid answer by the rule "always"; one outside the previous round's quartiles by
    /// "outside_iqr".</summary>
    public bool NeedsRationale(string question, AnswerValue value)
    {
        if (value.Mark != AnswerMark.Valid || !_byId.TryGetValue(question, out var q)) return false;
        return q.Question.Rationale switch
        {
            RationaleRule.Always => true,
            RationaleRule.OutsideIqr => value.Number is { } x && _previous(question) is { } iqr && (Tolerance.Less(x, iqr.Q1) || Tolerance.Greater(x, iqr.Q3)),
            _ => false,
        };
    }

    /// <summary>
    /// The rules of the questions asked in the round, as JSON for the page's script (data the page carries, never run):
    /// {"questions": [{"id", "asked_when": [{"question", "in" | "not_in": [codes]}], "rationale": {"for": [answers]} |
    /// {"except": [answers]}, "max_selections"}]}, in the survey's order. "for" lists every answer that needs a rationale
    /// (each the canonical text a form control gives); "except" means any answer but these needs one. The default
    /// encoder escapes &lt;, &gt; and &amp;, so the JSON holds no markup wherever a page puts it.
    /// </summary>
    public string ToJson()
    {
        var buffer = new MemoryStream();
        using (var j = new Utf8JsonWriter(buffer))
        {
            j.WriteStartObject();
            j.WriteStartArray("questions");
            foreach (var r in Questions.Where(r => r.Question.AskedIn(Round)))
            {
                var q = r.Question;
                j.WriteStartObject();
                j.WriteString("id", q.Id);
                j.WriteStartArray("asked_when");
                foreach (var c in r.AskedWhen)
                {
                    j.WriteStartObject();
                    j.WriteString("question", c.Question);
                    j.WriteStartArray(c.Negated ? "not_in" : "in");
                    foreach (var code in c.Codes) j.WriteStringValue(code);
                    j.WriteEndArray();
                    j.WriteEndObject();
                }
                j.WriteEndArray();
                if (q.Rationale == RationaleRule.Always)
                {
                    j.WriteStartObject("rationale");
                    j.WriteStartArray("except");
                    j.WriteStringValue(AnswerValue.DontKnowText);
                    j.WriteStringValue(AnswerValue.NeverText);
                    j.WriteEndArray();
                    j.WriteEndObject();
                }
                else if (q.Rationale == RationaleRule.OutsideIqr)
                {
                    var needing = Candidates(q).Where(v => NeedsRationale(q.Id, v)).Select(v => v.Text).ToList();
                    if (needing.Count > 0)
                    {
                        j.WriteStartObject("rationale");
                        j.WriteStartArray("for");
                        foreach (var v in needing) j.WriteStringValue(v);
                        j.WriteEndArray();
                        j.WriteEndObject();
                    }
                }
                if (q.Kind == QuestionKind.MultiChoice && q.MaxSelections is { } max) j.WriteNumber("max_selections", max);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Every valid answer of a numeric question (the rule "outside_iqr" applies to numbers only): its options, or each whole number of its
    /// scale.</summary>
    public static IEnumerable<AnswerValue> Candidates(Question q)
    {
        if (q.Options.Count > 0)
            return q.Options.Where(o => o.Value is not null).Select(o => new AnswerValue(o.Code, o.Value, AnswerMark.Valid));
        if (q.Kind is QuestionKind.Rating or QuestionKind.Year && q.Min is { } min && q.Max is { } max && max >= min)
            return Enumerable.Range(min, max - min + 1).Select(v => new AnswerValue(v.ToString(CultureInfo.InvariantCulture), v, AnswerMark.Valid));
        return [];
    }

    /// <summary>The part that depends only on the survey's definition and the round, built once for each.</summary>
    sealed class Structure
    {
        public required SurveyDefinition Survey { get; init; }
        public required int Round { get; init; }
        public required IReadOnlyList<QuestionRules> Questions { get; init; }
        public required Dictionary<string, QuestionRules> ById { get; init; }

        // Keyed by the definition itself: a changed definition is a new one, so nothing here goes stale.
        static readonly ConditionalWeakTable<SurveyDefinition, System.Collections.Concurrent.ConcurrentDictionary<int, Structure>> Built = new();

        public static Structure Of(SurveyDefinition survey, int round) =>
            Built.GetValue(survey, static _ => new()).GetOrAdd(round, static (r, s) => Build(s, r), survey);

        static Structure Build(SurveyDefinition survey, int round)
        {
            var familiarity = survey.Familiarity;
            var skipping = familiarity?.Options.Where(o => o.SkipsTopic).Select(o => o.Code).ToList() ?? [];
            var questions = new List<QuestionRules>();
            foreach (var q in survey.Questions)
            {
                var clauses = new List<Clause>();
                // "Not familiar" comes first: it is the reason a page gives for a question it hides.
                if (skipping.Count > 0 && q.Id != familiarity!.Id)
                    clauses.Add(new Clause(familiarity.Id, skipping, Negated: true, AnswerErrorKind.Skipped));
                if (q.When is { } w)
                    clauses.Add(new Clause(w.Question, w.In, Negated: false, AnswerErrorKind.Condition));
                questions.Add(new QuestionRules(q, clauses));
            }
            var byId = new Dictionary<string, QuestionRules>(StringComparer.Ordinal);
            foreach (var r in questions) byId.TryAdd(r.Question.Id, r);
            return new Structure { Survey = survey, Round = round, Questions = questions, ById = byId };
        }
    }
}
