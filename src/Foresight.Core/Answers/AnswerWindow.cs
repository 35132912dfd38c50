using System.Globalization;

namespace Foresight.Core.Answers;

/// <summary>Why an expert's answers are not taken now.</summary>
public enum WindowClosed
{
    /// <summary>The survey has no open round (none has opened yet, or the last one has closed).</summary>
    NoRound,
    /// <summary>The round closed (since the expert's request was checked).</summary>
    RoundClosed,
    /// <summary>The round's deadline has passed, though it may not have closed itself yet.</summary>
    DeadlinePassed,
    /// <summary>The expert's invitation link was revoked.</summary>
    Revoked,
    /// <summary>The expert is not on the round's panel (not invited to it).</summary>
    NotOnRound,
}

/// <summary>
/// The one rule for "the round is open for this expert now", used wherever answers, rankings, the profile or
/// messages are taken and wherever a page says whether they are: the round is open, its deadline has not passed
/// (by the server's clock, which tests move), and the expert is on the round's panel with a link not revoked.
/// Where the facts come from differs (a cache for a request, the answer writer's transaction, a page's read); the
/// decision is this.
/// </summary>
/// <param name="Round">the round's number; null when the survey has no open round</param>
/// <param name="Closed">null when answers are taken</param>
public sealed record AnswerWindow(int? Round, DateTimeOffset? Deadline, WindowClosed? Closed)
{
    public bool Open => Closed is null;

    public static readonly AnswerWindow NoRound = new(null, null, WindowClosed.NoRound);

    /// <param name="round">the round's number, null when the survey has no round to answer</param>
    /// <param name="open">the round's status is open</param>
    /// <param name="deadline">the round's deadline, if it has one</param>
    /// <param name="onRound">the expert is on the round's panel</param>
    /// <param name="revoked">the expert's link is revoked</param>
    /// <param name="now">the server's clock (its TimeProvider), never the wall clock read directly</param>
    public static AnswerWindow Check(int? round, bool open, DateTimeOffset? deadline, bool onRound, bool revoked, DateTimeOffset now)
    {
        WindowClosed? closed = round is null ? WindowClosed.NoRound
            : !open ? WindowClosed.RoundClosed
            : deadline is { } d && d <= now ? WindowClosed.DeadlinePassed
            : revoked ? WindowClosed.Revoked
            : !onRound ? WindowClosed.NotOnRound
            : null;
        return new AnswerWindow(round, deadline, closed);
    }

    /// <summary>A deadline as the database stores it (ISO 8601, UTC).</summary>
    public static DateTimeOffset? ParseDeadline(string? iso) =>
        iso is null ? null : DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    /// <summary>Why answers are not taken, in English as the API reports it; null when they are.</summary>
    public string? Message => Closed switch
    {
        null => null,
        WindowClosed.NoRound => "No round is open; answers are taken while a round is open (none has opened yet, or the last one has closed).",
        WindowClosed.RoundClosed => $"Round {Round} has closed; answers are no longer taken.",
        WindowClosed.DeadlinePassed
            => $"The deadline of round {Round} ({Deadline!.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)}) has " +
            "passed; answers are no longer taken.",
        WindowClosed.Revoked => "Your invitation link has been revoked; answers are no longer taken from it. Ask the survey's coordinator for a new link.",
        _ => $"You are not on the panel of round {Round}, so your answers are not taken in it. Ask the survey's coordinator to add you.",
    };
}
