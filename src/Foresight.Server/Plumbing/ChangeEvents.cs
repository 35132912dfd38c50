using System.Collections.Concurrent;
using System.Collections.Immutable;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Committed changes that other parts of the server depend on, published once after the commit that made them.
/// Caches and open connections subscribe instead of being cleared by hand where the change is made. A subscriber that
/// fails is logged and the others still hear the change.
/// </summary>
public sealed class ChangeEvents(ILogger<ChangeEvents> log)
{
    readonly ConcurrentDictionary<Type, ImmutableArray<Action<object>>> _handlers = new();

    public void Subscribe<T>(Action<T> handler) where T : notnull =>
        _handlers.AddOrUpdate(typeof(T), _ => [o => handler((T)o)], (_, list) => list.Add(o => handler((T)o)));

    /// <summary>Tells every subscriber of the change's type; call it after the change is committed.</summary>
    public void Publish<T>(T change) where T : notnull
    {
        if (!_handlers.TryGetValue(typeof(T), out var handlers)) return;
        foreach (var handler in handlers)
        {
            try { handler(change); }
            catch (Exception e) { log.LogError(e, "A subscriber failed to follow {Change}", change); }
        }
    }
}

/// <summary>A panel member's invitation link was renewed or revoked: sessions and connections made with the old one end.</summary>
public sealed record MemberAccessEnded(long MemberId);

/// <summary>An account was disabled (<paramref name="SurveyId"/> null), or lost its coordinator or stakeholder access to a survey.</summary>
public sealed record UserAccessEnded(long UserId, long? SurveyId);

/// <summary>An API token was signed out: requests and connections made with it end.</summary>
public sealed record TokenAccessEnded(string TokenHash);
