namespace Foresight.Core.Statistics;

/// <summary>How an expert's answer to one topic-question stands.</summary>
public enum AnswerMark
{
    /// <summary>A numeric answer that counts in n.</summary>
    Valid,
    /// <summary>No answer (skipped, or the topic was marked "not familiar").</summary>
    Skip,
    /// <summary>"Don't know": not in n.</summary>
    DontKnow,
    /// <summary>"Never" (year questions): not in n, reported as pct_never.</summary>
    Never,
}

/// <summary>One expert's answer to one topic-question, as the statistics see it.</summary>
/// <param name="Familiarity">that expert's familiarity code for the topic (e.g. 1-4), when known</param>
public readonly record struct Observation(string ExpertId, AnswerMark Mark, double Value, double? Familiarity = null)
{
    public static Observation Of(string expertId, double value, double? familiarity = null) =>
        new(expertId, AnswerMark.Valid, value, familiarity);

    public static Observation Skipped(string expertId, double? familiarity = null) =>
        new(expertId, AnswerMark.Skip, double.NaN, familiarity);

    public static Observation DontKnow(string expertId, double? familiarity = null) =>
        new(expertId, AnswerMark.DontKnow, double.NaN, familiarity);

    public static Observation Never(string expertId, double? familiarity = null) =>
        new(expertId, AnswerMark.Never, double.NaN, familiarity);
}

/// <summary>The kind of numbers an item holds, which decides the extra statistics.</summary>
public enum ItemKind
{
    /// <summary>Ordinal choice or rating scale (1-4, 1-5, 1-7 ...).</summary>
    Likert,
    /// <summary>RAND/UCLA appropriateness rating on 1-9: adds p30, p70, IPR, IPRAS and the class.</summary>
    Rand9,
    /// <summary>Realization year (or a period's midpoint); "never" is counted apart.</summary>
    Year,
    /// <summary>The rank an expert gave a topic in a ranking question; feeds Kendall's W.</summary>
    Rank,
}
