%% beamctl_agent: the helper module beamctl loads on a managed node so that
%% scans of all processes run as compiled code on the node. beamctl ships it
%% compiled by OTP 25 (beamctl_agent.beam, from `go generate`) and compiles
%% this source on the node only if that file is refused. Every function
%% returns only a bounded result. Remove it with `beamctl agent remove NODE`.
-module(beamctl_agent).
-export([version/0, top/3, top_window/4, ets/3, sample/1, hold_swt/2, lingering/2,
         leaks/3, alloc/0, proc_scan/2, ports/1, log_counts/0, log_counts_remove/0, swt/1,
         suptree/6, rabbit_queues/4, loaded_digest/0, ets_stats/0, dist_stats/0,
         os_stats/1]).
%% The logger handler callbacks of log_counts/0.
-export([adding_handler/1, log/2]).

version() -> 15.

%% loaded_digest(): the md5 of what beamctl's code poll reads (erlang:loaded/0,
%% code:all_loaded/0, every module's md5 and whether it has old code), so
%% that a node whose code did not change answers the poll with 16 bytes
%% instead of its module list. Bounded by the number of loaded modules.
loaded_digest() ->
    Loaded = lists:sort(erlang:loaded()),
    Code = [{M, try erlang:get_module_info(M, md5) catch _:_ -> purged end, erlang:check_old_code(M)}
            || M <- Loaded],
    erlang:md5(term_to_binary({Code, lists:sort(code:all_loaded())})).

%% ets_stats(): the word size and every table's name, size and memory (in
%% words), as {WordSize, [{Name, Size, Words}]}: the ets collector's reading
%% in one round trip (it took two without the agent). Tables deleted
%% meanwhile are left out. Bounded by the ETS table limit.
ets_stats() ->
    {erlang:system_info(wordsize),
     lists:filtermap(fun(T) ->
                             case {ets:info(T, name), ets:info(T, size), ets:info(T, memory)} of
                                 {N, S, M} when is_atom(N), N =/= undefined, is_integer(S), is_integer(M) -> {true, {N, S, M}};
                                 _ -> false
                             end
                     end, ets:all())}.

%% dist_stats(): the dist collector's reading in one round trip, as
%% {net_kernel:nodes_info(), erlang:system_info(dist_ctrl), [inet:getstat(Port)
%% for each connection whose controller is a port, in dist_ctrl's order]}.
%% Bounded by the number of connections.
dist_stats() ->
    Ctrl = erlang:system_info(dist_ctrl),
    {net_kernel:nodes_info(), Ctrl, [inet:getstat(P) || {_, P} <- Ctrl, is_port(P)]}.

%% os_stats(Files): the os collector's reading in one round trip: for each
%% {Path, Prefixes} of Files, file:read_file(Path) with only the lines that
%% start with one of Prefixes (binaries; [] keeps the whole file), and the
%% number of the VM's open file descriptors, as
%% {[{ok, Text} | {error, Reason}], {ok, Count} | {error, Reason}}. The rest
%% of the text and the descriptors' names stay on the node (a node with
%% 100,000 sockets would otherwise send 100,000 names every round). Bounded
%% by the files' size and the descriptor count.
os_stats(Files) ->
    {[os_lines(file:read_file(Path), Prefixes) || {Path, Prefixes} <- Files],
     case file:list_dir(<<"/proc/self/fd">>) of
         {ok, Fds} -> {ok, length(Fds)};
         Error -> Error
     end}.

os_lines({ok, Text}, []) ->
    {ok, Text};
os_lines({ok, Text}, Prefixes) ->
    {ok, iolist_to_binary([line_at(Text, Pos) || P <- Prefixes, Pos <- line_starts(Text, P)])};
os_lines(Error, _) ->
    Error.

%% line_starts(Text, P): where the lines of Text that start with P start
%% (binary:matches searches in C: a tenth of the reductions of splitting
%% the text into lines and testing each).
line_starts(Text, P) ->
    First = case binary:longest_common_prefix([Text, P]) =:= byte_size(P) of
                true -> [0];
                false -> []
            end,
    First ++ [S + 1 || {S, _} <- binary:matches(Text, <<$\n, P/binary>>)].

%% line_at(Text, Pos): the line of Text that starts at Pos, with its newline.
line_at(Text, Pos) ->
    End = case binary:match(Text, <<"\n">>, [{scope, {Pos, byte_size(Text) - Pos}}]) of
              {E, _} -> E;
              nomatch -> byte_size(Text)
          end,
    [binary:part(Text, Pos, End - Pos), $\n].

%% top(Attr, N, Limit): the N processes with the largest Attr among the
%% first Limit processes (0: all), as [{Pid, Value, Name, CurrentFunction, InitialCall}].
top(Attr, N, Limit) ->
    Top = lists:foldl(fun(P, Acc) -> score(P, value(P, Attr), Acc, N) end,
                      {0, 0, []}, procs(Limit)),
    describe(Top).

%% top_window(Attr, N, Limit, Ms): like top/3, on the growth of Attr over
%% Ms milliseconds (recon's proc_window). Processes born during the window
%% count from zero.
top_window(Attr, N, Limit, Ms) ->
    Before = lists:foldl(fun(P, M) -> case value(P, Attr) of
                                          undefined -> M;
                                          V -> M#{P => V}
                                      end end, #{}, procs(Limit)),
    timer:sleep(Ms),
    Top = lists:foldl(fun(P, Acc) ->
                              case value(P, Attr) of
                                  undefined -> Acc;
                                  V -> score(P, V - maps:get(P, Before, 0), Acc, N)
                              end
                      end, {0, 0, []}, procs(Limit)),
    describe(Top).

procs(0) -> erlang:processes();
procs(Limit) -> lists:sublist(erlang:processes(), Limit).

value(P, binary_memory) ->
    case erlang:process_info(P, binary) of
        {binary, Bins} -> lists:sum([Size || {_, Size, _} <- Bins]);
        undefined -> undefined
    end;
value(P, Attr) ->
    case erlang:process_info(P, Attr) of
        {Attr, V} -> V;
        undefined -> undefined
    end.

%% The top N so far, ascending, with its length and smallest value, so that
%% the common case (a value below the smallest) costs one comparison. The
%% scanning process itself is left out.
score(_P, undefined, Acc, _N) -> Acc;
score(P, _V, Acc, _N) when P =:= self() -> Acc;
score(P, V, {Len, _Min, L}, N) when Len < N ->
    L2 = lists:merge([{V, P}], L),
    {Len + 1, element(1, hd(L2)), L2};
score(_P, V, {_, Min, _} = Acc, _N) when V =< Min -> Acc;
score(P, V, {Len, _Min, [_ | T]}, _N) ->
    L2 = lists:merge([{V, P}], T),
    {Len, element(1, hd(L2)), L2}.

describe({_, _, L}) ->
    [{P, V, name(P), current(P), initial(P)} || {V, P} <- lists:reverse(L)].

name(P) ->
    case erlang:process_info(P, registered_name) of
        {registered_name, N} -> N;
        _ -> undefined
    end.

current(P) ->
    case erlang:process_info(P, current_function) of
        {current_function, MFA} -> MFA;
        _ -> undefined
    end.

initial(P) ->
    case erlang:process_info(P, initial_call) of
        {initial_call, {proc_lib, init_p, _}} ->
            try proc_lib:translate_initial_call(P) catch _:_ -> undefined end;
        {initial_call, MFA} -> MFA;
        _ -> undefined
    end.

%% ets(SortBy, N, Match): the N largest ETS tables by size or memory whose
%% name contains Match (<<>> matches every table), as
%% [{Id, Name, Owner, Type, Size, MemoryBytes, Protection}].
ets(SortBy, N, Match) ->
    Word = erlang:system_info(wordsize),
    Infos = lists:filtermap(fun(T) -> tab(T, Word, Match) end, ets:all()),
    Key = case SortBy of size -> 5; memory -> 6 end,
    lists:sublist(lists:reverse(lists:keysort(Key, Infos)), N).

tab(T, Word, Match) ->
    case ets:info(T) of
        undefined -> false;
        I ->
            Name = proplists:get_value(name, I),
            case Match =:= <<>> orelse string:find(atom_to_binary(Name), Match) =/= nomatch of
                true ->
                    {true, {T, Name, proplists:get_value(owner, I), proplists:get_value(type, I),
                            proplists:get_value(size, I), proplists:get_value(memory, I) * Word,
                            proplists:get_value(protection, I)}};
                false -> false
            end
    end.

%% sample(Queues): one wsar line's raw counters in one round trip. Queues
%% (true/false) scans every process's message queue (linear in processes).
sample(Queues) ->
    {Reds, _} = erlang:statistics(reductions),
    {GCs, GCWords, _} = erlang:statistics(garbage_collection),
    Mem = erlang:memory([total, processes, system]),
    Q = case Queues of
            true -> queues();
            false -> undefined
        end,
    SWT = case erlang:statistics(scheduler_wall_time) of
              undefined -> undefined;
              L -> [{Id, A, T} || {Id, A, T} <- L]
          end,
    #{time_ms => erlang:monotonic_time(millisecond),
      processes => erlang:system_info(process_count),
      run_queue => erlang:statistics(total_run_queue_lengths),
      reductions => Reds, gcs => GCs, gc_words => GCWords,
      memory => maps:from_list(Mem), queues => Q, dist => dist(), swt => SWT}.

queues() ->
    lists:foldl(fun(P, {Total, Max, NonEmpty} = Acc) ->
                        case erlang:process_info(P, message_queue_len) of
                            {message_queue_len, 0} -> Acc;
                            {message_queue_len, N} -> {Total + N, max(Max, N), NonEmpty + 1};
                            undefined -> Acc
                        end
                end, {0, 0, 0}, erlang:processes()).

%% Bytes and packets over every distribution connection.
dist() ->
    lists:foldl(fun({_Node, Port}, {RO, SO, RC, SC} = Acc) when is_port(Port) ->
                        case inet:getstat(Port, [recv_oct, send_oct, recv_cnt, send_cnt]) of
                            {ok, S} ->
                                {RO + proplists:get_value(recv_oct, S, 0), SO + proplists:get_value(send_oct, S, 0),
                                 RC + proplists:get_value(recv_cnt, S, 0), SC + proplists:get_value(send_cnt, S, 0)};
                            _ -> Acc
                        end;
                   (_, Acc) -> Acc
                end, {0, 0, 0, 0}, erlang:system_info(dist_ctrl)).

%% hold_swt(Owner, MaxMs): a process that keeps scheduler_wall_time on for
%% as long as Owner lives, it is sent stop, or MaxMs pass. The flag is
%% counted per process by the VM, so it goes back off when this process
%% ends, whatever happens to beamctl.
hold_swt(Owner, MaxMs) ->
    spawn(fun() ->
                  erlang:system_flag(scheduler_wall_time, true),
                  Ref = erlang:monitor(process, Owner),
                  receive
                      {'DOWN', Ref, _, _, _} -> ok;
                      stop -> ok
                  after MaxMs -> ok
                  end
          end).

%% lingering(Mod, Limit): up to Limit processes still running Mod's old code.
lingering(Mod, Limit) ->
    case erlang:check_old_code(Mod) of
        false -> [];
        true -> lists:sublist([P || P <- erlang:processes(), P =/= self(),
                                    erlang:check_process_code(P, Mod)], Limit)
    end.

%% leaks(N, GC, PauseMs): erl_leaks. The N processes holding the most refc
%% binary memory, each as {Pid, Name, Before, After} where Before and After
%% are {BinaryRefs, BinarySize, BinaryCount, HeapBytes}. With GC each of them
%% is garbage collected, one at a time with PauseMs between, before After is
%% taken; without GC, After = Before.
leaks(N, GC, PauseMs) ->
    Before = [{P, bininfo(P)} || {P, _, _, _, _} <- top(binary_memory, N, 0)],
    case GC of
        true -> [begin erlang:garbage_collect(P), timer:sleep(PauseMs) end || {P, _} <- Before];
        false -> ok
    end,
    [{P, name(P), B, case GC of true -> bininfo(P); false -> B end} || {P, B} <- Before, B =/= undefined].

bininfo(P) ->
    case erlang:process_info(P, [binary, total_heap_size]) of
        [{binary, Bins}, {total_heap_size, H}] ->
            {lists:sum([R || {_, _, R} <- Bins]), lists:sum([S || {_, S, _} <- Bins]), length(Bins),
             H * erlang:system_info(wordsize)};
        undefined -> undefined
    end.

%% alloc(): per allocator type and instance, {Type, Instance, Strategy,
%% CarriersBytes, BlocksBytes, BlockCount} over multi- and single-block
%% carriers.
alloc() ->
    lists:append([alloc(T) || T <- erlang:system_info(alloc_util_allocators)]).

alloc(Type) ->
    case erlang:system_info({allocator, Type}) of
        L when is_list(L) ->
            [alloc_instance(Type, I, Info) || {instance, I, Info} <- L];
        _ -> []
    end.

alloc_instance(Type, I, Info) ->
    Opts = proplists:get_value(options, Info, []),
    {C1, S1, N1} = carriers(proplists:get_value(mbcs, Info, [])),
    {C2, S2, N2} = carriers(proplists:get_value(sbcs, Info, [])),
    {Type, I, proplists:get_value(as, Opts, undefined), C1 + C2, S1 + S2, N1 + N2}.

carriers(Stats) ->
    Size = case lists:keyfind(carriers_size, 1, Stats) of
               {carriers_size, C, _, _} -> C;
               _ -> 0
           end,
    {Bytes, Count} =
        case lists:keyfind(blocks, 1, Stats) of
            {blocks, L} when is_list(L) ->
                lists:foldl(fun({_, Props}, {AS, AC}) -> {AS + cur(size, Props), AC + cur(count, Props)} end, {0, 0}, L);
            {blocks, Cnt, _, _} -> {cur(blocks_size, Stats), Cnt};
            _ -> {0, 0}
        end,
    {Size, Bytes, Count}.

cur(K, L) ->
    case lists:keyfind(K, 1, L) of
        {K, V, _, _} -> V;
        {K, V} -> V;
        _ -> 0
    end.

%% proc_scan(Limit, MinBytes): one walk of at most Limit processes for the
%% message_queues and shells collectors, as {{Scanned, Messages, NonEmpty,
%% Longest, LongestPid, LongestName}, Shells}; Shells lists {Pid, Memory,
%% node(GroupLeader)} (where the user typed) of the shell processes (servers
%% and evaluators: current function in the shell module) holding at least
%% MinBytes. The scanning process itself is left out.
%% One walk, not two: erlang:processes/0 is charged by the size of the
%% process table (about 8,000 reductions on an idle node).
proc_scan(Limit, MinBytes) ->
    Self = self(),
    {S, T, NE, M, MP, Sh} =
        lists:foldl(fun(P, Acc) when P =:= Self -> Acc;
                       (P, {S, T, NE, M, MP, Sh} = Acc) ->
                            case erlang:process_info(P, [message_queue_len, current_function]) of
                                [{message_queue_len, N}, {current_function, F}] ->
                                    Sh1 = shell(P, F, MinBytes, Sh),
                                    if N =:= 0 -> {S + 1, T, NE, M, MP, Sh1};
                                       N > M -> {S + 1, T + N, NE + 1, N, P, Sh1};
                                       true -> {S + 1, T + N, NE + 1, M, MP, Sh1}
                                    end;
                                undefined -> Acc
                            end
                    end, {0, 0, 0, 0, undefined, []}, procs(Limit)),
    Name = case MP of
               undefined -> undefined;
               _ -> name(MP)
           end,
    {{S, T, NE, M, MP, Name}, lists:reverse(Sh)}.

shell(P, {shell, _, _}, MinBytes, Sh) ->
    case erlang:process_info(P, [memory, group_leader]) of
        [{memory, M}, {group_leader, GL}] when M >= MinBytes -> [{P, M, node(GL)} | Sh];
        _ -> Sh
    end;
shell(_, _, _, Sh) -> Sh.

%% ports(Limit): the first Limit ports (0: all) counted by driver on the
%% node, so that a node with 100,000 sockets does not send their list:
%% {Scanned, [{Driver, Ports, QueuedBytes, PortsWithQueuedOutput}]}.
ports(Limit) ->
    Ps = case Limit of
             0 -> erlang:ports();
             _ -> lists:sublist(erlang:ports(), Limit)
         end,
    ByDriver = lists:foldl(
                 fun(P, Acc) ->
                         case {erlang:port_info(P, name), erlang:port_info(P, queue_size)} of
                             {{name, N}, {queue_size, Q}} ->
                                 {C, B, W} = maps:get(N, Acc, {0, 0, 0}),
                                 Acc#{N => {C + 1, B + Q, W + min(Q, 1)}};
                             _ -> Acc % closed meanwhile
                         end
                 end, #{}, Ps),
    {length(Ps), [{N, C, B, W} || {N, {C, B, W}} <- maps:to_list(ByDriver)]}.

%% log_counts(): the number of log events per level that passed the
%% primary logger level since beamctl first asked, as [{Level, Count}].
%% The first call installs the logger handler beamctl_log_counter (this
%% module), which only bumps a counter per event; log_counts_remove/0 (and
%% `beamctl agent remove`) takes it away.
log_counts() ->
    C = case logger:get_handler_config(beamctl_log_counter) of
            {ok, #{config := #{counters := C0}}} -> C0;
            _ ->
                C0 = counters:new(length(levels()), [write_concurrency]),
                case logger:add_handler(beamctl_log_counter, beamctl_agent,
                                        #{level => all, config => #{counters => C0}}) of
                    ok -> C0;
                    {error, {already_exist, _}} -> C0;
                    {error, _} = E -> throw(E)
                end
        end,
    [{L, counters:get(C, I)} || {L, I} <- lists:zip(levels(), lists:seq(1, length(levels())))].

log_counts_remove() ->
    logger:remove_handler(beamctl_log_counter).

levels() -> [emergency, alert, critical, error, warning, notice, info, debug].

adding_handler(Config) -> {ok, Config}.

log(#{level := Level}, #{config := #{counters := C}}) ->
    counters:add(C, level_index(Level, levels(), 1), 1);
log(_, _) -> ok.

level_index(L, [L | _], I) -> I;
level_index(L, [_ | T], I) -> level_index(L, T, I + 1);
level_index(_, [], _) -> 8.

%% swt(MaxMs): scheduler wall time for beamctl serve, as
%% {Schedulers, DirtyCPUSchedulers, statistics(scheduler_wall_time_all)}.
%% A registered holder process (beamctl_swt) keeps the flag on between
%% calls, so consecutive readings cover the whole interval and the costly
%% switching of the flag happens once; it ends, and the flag goes back to
%% what it was, when MaxMs pass without another call.
swt(MaxMs) ->
    Pid = case whereis(beamctl_swt) of
              undefined -> start_swt_holder(MaxMs);
              P -> P
          end,
    Pid ! {renew, MaxMs},
    {erlang:system_info(schedulers), erlang:system_info(dirty_cpu_schedulers),
     erlang:statistics(scheduler_wall_time_all)}.

start_swt_holder(MaxMs) ->
    Caller = self(),
    {Pid, Ref} = spawn_monitor(fun() ->
                                       erlang:system_flag(scheduler_wall_time, true),
                                       Registered = (catch register(beamctl_swt, self())) =:= true,
                                       Caller ! {beamctl_swt, self()},
                                       case Registered of
                                           true -> swt_loop(MaxMs);
                                           false -> ok % another caller's holder won
                                       end
                               end),
    receive
        {beamctl_swt, Pid} -> ok;
        {'DOWN', Ref, _, _, _} -> ok
    after 5000 -> ok
    end,
    erlang:demonitor(Ref, [flush]),
    case whereis(beamctl_swt) of
        undefined -> Pid;
        Holder -> Holder
    end.

swt_loop(MaxMs) ->
    receive
        {renew, Ms} -> swt_loop(Ms)
    after MaxMs -> ok
    end.

%% suptree(Only, MaxDepth, MaxKids, MaxNodes, Timeout, Budget): the
%% supervision trees of the running applications (Only = []) or of the
%% ones in Only, as {[{App, Tree}], NodesShown, Microseconds, Reductions}.
%% Tree is none (no supervisor), max_nodes, no_answer, {error, Reason} or
%% {Id, Pid, Type, Modules, Children, NotShown, Note}. Each call to a
%% supervisor or an application master waits at most Timeout ms; no
%% supervisor is asked after Budget ms. The same walk as supTreeExpr in
%% suptree.go (erl_eval), which must stay in step.
suptree(Only, MaxDepth, MaxKids, MaxNodes, Timeout, Budget) ->
    T0 = erlang:monotonic_time(microsecond),
    {reductions, R0} = erlang:process_info(self(), reductions),
    B = #{depth => MaxDepth, kids => MaxKids, timeout => Timeout,
          deadline => erlang:monotonic_time(millisecond) + Budget},
    Running = [A || {A, _, _} <- application:which_applications(Timeout)],
    Apps = case Only of
               [] -> Running;
               _ -> [A || A <- Only, lists:member(A, Running)]
           end,
    {Res, LeftEnd} = lists:foldl(fun(A, {Acc, L}) when L =< 0 -> {[{A, max_nodes} | Acc], L};
                                    (A, {Acc, L}) -> {R, L2} = sup_app(A, L, B), {[{A, R} | Acc], L2}
                                 end, {[], MaxNodes}, Apps),
    {reductions, R1} = erlang:process_info(self(), reductions),
    {lists:reverse(Res), MaxNodes - LeftEnd, erlang:monotonic_time(microsecond) - T0, R1 - R0}.

%% application_master:get_child/1 waits without a timeout: ask it from a
%% helper process, killed at Timeout.
sup_app(A, Left, #{timeout := Timeout} = B) ->
    case application_controller:get_master(A) of
        undefined -> {none, Left};
        Master ->
            {P, M} = spawn_monitor(fun() -> exit({ok, application_master:get_child(Master)}) end),
            Answer = receive
                         {'DOWN', M, process, P, {ok, V}} -> {ok, V};
                         {'DOWN', M, process, P, Why} -> {error, Why}
                     after Timeout ->
                             exit(P, kill),
                             receive {'DOWN', M, process, P, _} -> timeout end
                     end,
            case Answer of
                {ok, {Pid, _}} when is_pid(Pid) ->
                    Name = case erlang:process_info(Pid, registered_name) of
                               {registered_name, N} -> N;
                               _ -> undefined
                           end,
                    sup_walk(Name, Pid, supervisor, [], 1, Left - 1, B);
                {ok, _} -> {none, Left};
                timeout -> {no_answer, Left};
                {error, W} -> {{error, sup_reason(W)}, Left}
            end
    end.

%% which_children is a gen_server:call with a timeout: a late answer is
%% dropped (its alias is gone), so a busy or suspended supervisor costs
%% Timeout and is marked no_answer.
sup_walk(Id, Pid, Type, Mods, _, Left, _) when Type =/= supervisor; not is_pid(Pid) ->
    {{Id, Pid, Type, Mods, [], 0, ok}, Left};
sup_walk(Id, Pid, Type, Mods, Level, Left, #{depth := D}) when Level >= D ->
    {{Id, Pid, Type, Mods, [], 0, depth}, Left};
sup_walk(Id, Pid, Type, Mods, Level, Left, #{kids := MaxKids, timeout := Timeout, deadline := Deadline} = B) ->
    case erlang:monotonic_time(millisecond) >= Deadline of
        true -> {{Id, Pid, Type, Mods, [], 0, deadline}, Left};
        false ->
            case catch gen_server:call(Pid, which_children, Timeout) of
                L when is_list(L) ->
                    {Kids, Left2, Cut} =
                        lists:foldl(fun(_, {Ks, 0, C}) -> {Ks, 0, C + 1};
                                       ({CId, CPid, CType, CMods}, {Ks, N, C}) ->
                                            {K, N2} = sup_walk(CId, CPid, CType, CMods, Level + 1, N - 1, B),
                                            {[K | Ks], N2, C}
                                    end, {[], Left, 0}, lists:sublist(L, MaxKids)),
                    Len = length(L),
                    Note = if Cut > 0 -> max_nodes; Len > MaxKids -> max_children; true -> ok end,
                    {{Id, Pid, Type, Mods, lists:reverse(Kids), Len - length(Kids), Note}, Left2};
                {'EXIT', {timeout, _}} -> {{Id, Pid, Type, Mods, [], 0, no_answer}, Left};
                {'EXIT', Why} -> {{Id, Pid, Type, Mods, [], 0, {error, sup_reason(Why)}}, Left}
            end
    end.

sup_reason({R, _}) when is_atom(R) -> R;
sup_reason(R) when is_atom(R) -> R;
sup_reason(_) -> error.

%% rabbit_queues(N, Limit, BudgetMs, CallMs): RabbitMQ's queues on this
%% node, as {Source, Scanned, Unanswered, Sums, Top}. When the broker collects
%% statistics (collect_statistics is coarse or fine: the management or the
%% prometheus plugin sets it), Source is stats and the first Limit queues
%% are read from rabbit_core_metrics' ETS tables, which no queue process
%% is asked for. Otherwise Source is calls: each local queue among the first
%% Limit rows of rabbit_queue is asked for its info (rabbitmqctl
%% list_queues' call), each call waiting at most CallMs, and no queue is
%% asked after BudgetMs (Unanswered counts the calls that failed or timed
%% out: a hibernating queue holding many messages can take a while to wake up). Sums is {Ready, Unacked, Consumers, Memory} over
%% the queues scanned; Top is the union of the N largest by messages,
%% unacked, memory and consumers, as
%% [{VHost, Name, Type, Ready, Unacked, Consumers, Memory}].
rabbit_queues(N, Limit, BudgetMs, CallMs) ->
    Deadline = erlang:monotonic_time(millisecond) + BudgetMs,
    {Source, Qs, Unanswered} =
        case application:get_env(rabbit, collect_statistics) of
            {ok, S} when S =:= coarse; S =:= fine -> {stats, rabbit_stats(Limit), 0};
            _ ->
                {L, Asked} = rabbit_calls(first(rabbit_queue, Limit), Deadline, CallMs, {[], 0}),
                {calls, L, Asked - length(L)}
        end,
    Sums = lists:foldl(fun({_, _, _, R, U, C, M}, {R0, U0, C0, M0}) -> {R0 + R, U0 + U, C0 + C, M0 + M} end,
                       {0, 0, 0, 0}, Qs),
    Top = lists:usort(lists:append([lists:sublist(lists:reverse(lists:keysort(K, Qs)), N) || K <- [4, 5, 6, 7]]
                                   ++ [lists:sublist(lists:reverse(lists:sort(
                                                       fun(A, B) -> element(4, A) + element(5, A) =< element(4, B) + element(5, B) end, Qs)), N)])),
    {Source, length(Qs), Unanswered, Sums, Top}.

first(Tab, Limit) ->
    case ets:select(Tab, [{'_', [], ['$_']}], Limit) of
        {L, _} -> L;
        '$end_of_table' -> []
    end.

rabbit_stats(Limit) ->
    lists:map(fun({{resource, V, queue, Name} = Q, Ready, Unacked, _, _}) ->
                      Props = case ets:lookup(queue_metrics, Q) of
                                  [{_, P, _}] -> P;
                                  _ -> []
                              end,
                      {V, Name, proplists:get_value(type, Props, classic), Ready, Unacked,
                       proplists:get_value(consumers, Props, 0), proplists:get_value(memory, Props, 0)}
              end, first(queue_coarse_metrics, Limit)).

rabbit_calls([], _, _, Acc) -> Acc;
rabbit_calls([Q | T], Deadline, CallMs, {L, Asked} = Acc) ->
    case erlang:monotonic_time(millisecond) < Deadline of
        false -> Acc;
        true ->
            case rabbit_call(Q, CallMs) of
                remote -> rabbit_calls(T, Deadline, CallMs, Acc);
                none -> rabbit_calls(T, Deadline, CallMs, {L, Asked + 1});
                E -> rabbit_calls(T, Deadline, CallMs, {[E | L], Asked + 1})
            end
    end.

rabbit_call(Q, CallMs) ->
    Items = [name, type, messages_ready, messages_unacknowledged, consumers, memory],
    Pid = amqqueue:get_pid(Q),
    Reply = try
                if is_pid(Pid), node(Pid) =:= node() -> gen_server2:call(Pid, {info, Items}, CallMs);
                   is_tuple(Pid), element(2, Pid) =:= node() -> {ok, rabbit_amqqueue:info(Q, Items)};
                   true -> remote
                end
            catch _:_ -> error
            end,
    case Reply of
        {ok, [{name, {resource, V, queue, Name}}, {type, Type}, {messages_ready, R}, {messages_unacknowledged, U},
              {consumers, C}, {memory, M}]} when is_integer(R), is_integer(U) ->
            {V, Name, Type, R, U, num(C), num(M)};
        remote -> remote;
        _ -> none
    end.

num(X) when is_number(X) -> X;
num(_) -> 0.
