namespace Foresight.Server.Plumbing;

/// <summary>Interface strings in both languages. A missing key shows itself, so a gap is seen, not hidden.</summary>
public static class UiStrings
{
    static readonly Dictionary<string, (string Zh, string En)> Strings = new()
    {
        ["app.name"] = ("Foresight 技术预见", "Foresight"),
        ["app.tagline"] = ("技术预见德尔菲调查平台", "Technology foresight Delphi platform"),
        ["nav.console"] = ("协调人控制台", "Console"),
        ["nav.signout"] = ("退出", "Sign out"),
        ["nav.signin"] = ("登录", "Sign in"),
        ["nav.skip"] = ("跳到正文", "Skip to content"),
        ["signin.title"] = ("登录", "Sign in"),
        ["signin.email"] = ("电子邮箱", "E-mail"),
        ["signin.password"] = ("密码", "Password"),
        ["signin.submit"] = ("登录", "Sign in"),
        ["signin.failed"] = ("邮箱或密码错误，或账号已停用。", "The e-mail or password is wrong, or the account is disabled."),
        ["signin.experts"] = ("专家请使用邀请邮件中的个人链接参加调查，无需登录。", "Experts open the survey from the personal link in their invitation; no sign-in is needed."),
        ["console.title"] = ("协调人控制台", "Coordinator console"),
        ["console.surveys"] = ("调查", "Surveys"),
        ["console.none"] = ("还没有调查。", "No survey yet."),
        ["console.topics"] = ("课题", "Topics"),
        ["console.panel"] = ("专家", "Experts"),
        ["console.round"] = ("轮次", "Round"),
        ["console.status"] = ("状态", "Status"),
        ["console.live"] = ("实时看板", "Live dashboard"),
        ["status.draft"] = ("草稿", "Draft"),
        ["status.running"] = ("进行中", "Running"),
        ["status.finished"] = ("已结束", "Finished"),
        ["status.open"] = ("进行中", "open"),
        ["status.closed"] = ("已结束", "closed"),
        ["live.title"] = ("实时看板", "Live dashboard"),
        ["live.connection"] = ("实时连接", "Live connection"),
        ["live.connecting"] = ("正在连接……", "Connecting…"),
        ["live.connected"] = ("已连接，数据实时更新", "Connected: figures update as answers arrive"),
        ["live.reconnecting"] = ("连接中断，正在重新连接……", "Connection lost, reconnecting…"),
        ["live.disconnected"] = ("连接已断开，请刷新页面。", "Disconnected; reload the page."),
        ["live.noround"] = ("尚未开启轮次。", "No round has opened yet."),
        ["live.round"] = ("第 {0} 轮", "Round {0}"),
        ["live.deadline"] = ("截止时间", "Deadline"),
        ["live.progress"] = ("应答进度", "Response progress"),
        ["live.invited"] = ("受邀专家", "Experts invited"),
        ["live.responded"] = ("已应答", "Responded"),
        ["live.finished"] = ("已完成", "Finished"),
        ["live.answers"] = ("课题应答", "Topic answers"),
        ["live.field"] = ("领域", "Field"),
        ["live.experts"] = ("专家", "Experts"),
        ["live.consensus"] = ("各课题共识", "Consensus by topic"),
        ["live.question"] = ("显示问题", "Question shown"),
        ["live.topic"] = ("课题", "Topic"),
        ["live.n"] = ("应答数", "n"),
        ["live.median"] = ("中位数", "Median"),
        ["live.iqr"] = ("四分位区间", "IQR"),
        ["live.agree"] = ("同意率", "% agree"),
        ["live.state"] = ("共识状态", "State"),
        ["live.distribution"] = ("分布", "Distribution"),
        ["state.consensus"] = ("达成共识", "consensus"),
        ["state.no_consensus"] = ("未达成共识", "no consensus"),
        ["state.dissensus"] = ("意见分化", "dissensus"),
        ["lang.switch"] = ("语言", "Language"),
    };

    public static string Get(string key, string lang) =>
        Strings.TryGetValue(key, out var s) ? (lang == Foresight.Core.Surveys.Languages.Chinese ? s.Zh : s.En) : key;

    /// <summary>Every string in one language, for scripts that render text on the page.</summary>
    public static IReadOnlyDictionary<string, string> All(string lang) =>
        Strings.ToDictionary(kv => kv.Key, kv => lang == Foresight.Core.Surveys.Languages.Chinese ? kv.Value.Zh : kv.Value.En);
}
