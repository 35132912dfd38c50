using System.Reflection;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Committed changes that other parts of the server depend on, published once after the commit that made them.
/// Caches, the live state, the round lifecycle, mail and reports handle them (<see cref="IChangeHandler{T}"/>,
/// registered in DI) instead of being called or cleared by hand where the change is made. A handler that fails is
/// logged and the others still hear the change.
/// </summary>
public sealed class ChangeEvents(IServiceProvider services, ILogger<ChangeEvents> log, IChangeRelay? relay = null)
{
    /// <summary>Every kind of change, by name, with the typed call that hands one relayed from another node to this node's handlers.</summary>
    public static readonly IReadOnlyDictionary<string, (Type Type, Func<ChangeEvents, object, Task> Receive)> Kinds = new[]
    {
        typeof(MemberAccessEnded), typeof(UserAccessEnded), typeof(TokenAccessEnded), typeof(AnswerSaved), typeof(RankingSaved),
        typeof(RoundOpened), typeof(RoundClosed), typeof(DeadlineChanged), typeof(TopicsChanged), typeof(PanelChanged), typeof(SurveyChanged),
    }.ToDictionary(t => t.Name, t => (t, typeof(ChangeEvents).GetMethod(nameof(ReceiveTyped), BindingFlags.NonPublic | BindingFlags.Static)!
        .MakeGenericMethod(t).CreateDelegate<Func<ChangeEvents, object, Task>>()));

    /// <summary>
    /// Tells every handler of the change's type, in registration order; call it after the change is committed. With a
    /// relay (several server nodes), the other nodes' <see cref="IFollowsEveryNode"/> handlers hear it too.
    /// </summary>
    public async Task PublishAsync<T>(T change) where T : notnull
    {
        await TellAsync(change, fromAnotherNode: false);
        relay?.Send(change);
    }

    /// <summary>As <see cref="PublishAsync{T}"/>, for callers that do not wait for the handlers (their failures are logged).</summary>
    public void Publish<T>(T change) where T : notnull
    {
        var task = PublishAsync(change);
        if (!task.IsCompleted) _ = task.ContinueWith(t => log.LogError(t.Exception, "Publishing {Change} failed", change),
            TaskContinuationOptions.OnlyOnFaulted);
    }

    /// <summary>
    /// A change committed on another node: only the handlers that keep this node's own state (caches, the live
    /// state, open connections) follow it; work done once for the whole platform (jobs, e-mail, reports) was started
    /// by the node that made the change.
    /// </summary>
    public Task ReceiveAsync(object change) => Kinds[change.GetType().Name].Receive(this, change);

    static Task ReceiveTyped<T>(ChangeEvents events, object change) where T : notnull => events.TellAsync((T)change, fromAnotherNode: true);

    async Task TellAsync<T>(T change, bool fromAnotherNode) where T : notnull
    {
        foreach (var handler in services.GetServices<IChangeHandler<T>>())
        {
            if (fromAnotherNode && handler is not IFollowsEveryNode) continue;
            try { await handler.HandleAsync(change); }
            catch (Exception e)
            {
                log.LogError(e, "{Handler} failed to follow {Change}{From}", handler.GetType().Name, change, fromAnotherNode ? " from another node" : "");
            }
        }
    }
}

/// <summary>Carries committed changes to the other server nodes (several nodes on one database).</summary>
public interface IChangeRelay
{
    void Send(object change);
}

/// <summary>
/// A handler that keeps state of its own node (a cache, the live state, open connections), so it must follow changes
/// made on every node, not only on its own.
/// </summary>
public interface IFollowsEveryNode;

/// <summary>Something that follows committed changes of one kind (register it in DI as IChangeHandler&lt;T&gt;).</summary>
public interface IChangeHandler<in T>
{
    Task HandleAsync(T change);
}

public static class ChangeHandlerRegistration
{
    /// <summary>Registers the singleton <typeparamref name="THandler"/> as a handler of <typeparamref name="TChange"/>.</summary>
    public static IServiceCollection AddChangeHandler<TChange, THandler>(this IServiceCollection services)
        where THandler : class, IChangeHandler<TChange> =>
        services.AddSingleton<IChangeHandler<TChange>>(sp => sp.GetRequiredService<THandler>());
}

/// <summary>A panel member's invitation link was renewed or revoked: sessions and connections made with the old one end.</summary>
public sealed record MemberAccessEnded(long MemberId);

/// <summary>An account was disabled (<paramref name="SurveyId"/> null), or lost its coordinator or stakeholder access to a survey.</summary>
public sealed record UserAccessEnded(long UserId, long? SurveyId);

/// <summary>An API token was signed out: requests and connections made with it end.</summary>
public sealed record TokenAccessEnded(string TokenHash);

// Changes to a survey's data, for caches, the live state, the round lifecycle, mail and reports. Each names its
// survey; subscribers read what they need from the database, which is the truth.

/// <summary>An expert's answers to one topic after a save (committed): question id → answer; an empty map clears the topic.</summary>
public sealed record AnswerSaved(long SurveyId, long RoundId, long MemberId, string Pseudonym, string Topic,
    IReadOnlyDictionary<string, Foresight.Core.Answers.QuestionAnswer> Answers);

/// <summary>An expert's ranks after a ranking save (committed): topic → rank, null where a rank was taken away.</summary>
public sealed record RankingSaved(long SurveyId, long RoundId, long MemberId, string Pseudonym, string Ranking, IReadOnlyDictionary<string, double?> Ranks);

/// <summary>A round was opened.</summary>
public sealed record RoundOpened(long SurveyId, long RoundId, int Number);

/// <summary>A round was closed (by a coordinator or at its deadline).</summary>
public sealed record RoundClosed(long SurveyId, long RoundId, int Number);

/// <summary>An open round's deadline was set, moved or removed.</summary>
public sealed record DeadlineChanged(long SurveyId, long RoundId, int Number);

/// <summary>Topics were added, reworded, merged, split, removed, or a carry/retire decision was made.</summary>
public sealed record TopicsChanged(long SurveyId);

/// <summary>A survey's panel changed: members added, fields changed, links renewed or revoked.</summary>
public sealed record PanelChanged(long SurveyId, IReadOnlyList<long> Members);

/// <summary>A survey's definition, rules or status changed, or the survey was deleted.</summary>
public sealed record SurveyChanged(long SurveyId, string Slug, bool Deleted = false);
