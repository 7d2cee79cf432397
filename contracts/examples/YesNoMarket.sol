// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SibylConsumer} from "../consumer/SibylConsumer.sol";
import {ISibylLog} from "../interfaces/ISibylLog.sol";
import {Model, ResultStatus} from "../interfaces/SibylTypes.sol";
import {YesNo, YesNoAnswer} from "./YesNoAnswer.sol";

/// @title YesNoMarket
/// @notice Parimutuel yes/no markets judged by a model from evidence that exists only after betting
/// closes. Every market ends resolved or void: winners share the pool, a void market returns stakes.
/// @dev Timeline: bets until `closesAt`; the market's reporter posts the evidence (a headline, a
/// result, a document) until `closesAt + reportWindow`; anyone pays for the model to judge the
/// question against that evidence until `closesAt + reportWindow + resolutionWindow`. No report in
/// time, no answer in time, an error, or an answer other than a plain yes or no voids the market.
/// NoConsensus (the model's operators did not agree, proven onchain) decides nothing: the market
/// stays open to `resolve` until the resolution deadline, so a request drawn to an operator that
/// bets against the truth can only delay the market, never void it.
///
/// What a bettor trusts: (1) the reporter, named at creation, to post true evidence in time (a
/// silent reporter only voids the market; a lying one decides it, and the evidence is text the model
/// reads, instructions included); (2) the model's judgement of the question against that evidence;
/// (3) the operator that answers: the proof shows the answer is the one logged and delivered, not
/// that the model produced it (README, "Trust model"); (4) the coordinator's owner, who can change
/// the model's pinned configuration before the answer (disabling it or pausing only voids the
/// market). The resolving input does not exist while bets are taken, so nobody can run the model on
/// it before betting closes. Getting a stake back from a market that is never resolved needs no
/// trust: `voidMarket` is open to anyone after the deadlines, whatever the coordinator, operators or
/// model do.
contract YesNoMarket is SibylConsumer {
    enum Phase {
        /// @dev Betting until closesAt, then waiting for the reporter's evidence.
        Open,
        /// @dev The evidence is in; the model may be asked until the resolution deadline.
        Reported,
        Resolved,
        Voided
    }

    enum VoidReason {
        NoReport,
        NotResolvedInTime,
        AnswerAfterDeadline,
        ModelFailed,
        UnclearAnswer
    }

    struct Market {
        string question;
        string evidence;
        address reporter;
        uint64 closesAt;
        Phase phase;
        bool outcome;
        /// @dev Why the market is void, when it is.
        VoidReason voidReason;
        uint128 yesPool;
        uint128 noPool;
    }

    error YesNoMarket__InvalidWindows(uint64 reportWindow, uint64 resolutionWindow);
    error YesNoMarket__UnknownMarket(uint256 marketId);
    error YesNoMarket__EmptyQuestion();
    error YesNoMarket__QuestionTooLong(uint256 length, uint256 maxLength);
    error YesNoMarket__UnknownModel(bytes32 modelId);
    error YesNoMarket__ModelDisabled(bytes32 modelId);
    error YesNoMarket__ModelTooSlow(bytes32 modelId, uint32 timeout, uint64 resolutionWindow);
    error YesNoMarket__CallbackGasCapTooLow(uint32 maxCallbackGasLimit, uint32 callbackGasLimit);
    error YesNoMarket__InvalidReporter();
    error YesNoMarket__CloseInPast(uint64 closesAt, uint256 timestamp);
    error YesNoMarket__WrongPhase(uint256 marketId, Phase phase);
    error YesNoMarket__BettingClosed(uint256 marketId, uint64 closesAt);
    error YesNoMarket__BettingOpen(uint256 marketId, uint64 closesAt);
    error YesNoMarket__ZeroBet(uint256 marketId);
    error YesNoMarket__NotReporter(uint256 marketId, address caller, address reporter);
    error YesNoMarket__ReportWindowClosed(uint256 marketId, uint256 reportDeadline);
    error YesNoMarket__EmptyEvidence(uint256 marketId);
    error YesNoMarket__EvidenceTooLong(uint256 marketId, uint256 length, uint256 maxLength);
    error YesNoMarket__ResolutionClosed(uint256 marketId, uint256 resolutionDeadline);
    error YesNoMarket__NotVoidable(uint256 marketId, uint256 voidableAfter);
    error YesNoMarket__NothingToClaim(uint256 marketId, address account);
    error YesNoMarket__TransferFailed(address to, uint256 amount);

    event MarketCreated(uint256 indexed marketId, string question, address indexed reporter, uint64 closesAt);
    event BetPlaced(uint256 indexed marketId, address indexed bettor, bool yes, uint256 amount);
    event EvidenceReported(uint256 indexed marketId, string evidence);
    event ResolutionRequested(uint256 indexed marketId, uint256 indexed requestId, address indexed payer);
    event MarketResolved(uint256 indexed marketId, bool outcome);
    /// @notice The operators did not agree on request `requestId`: the market stays Reported, and
    /// anyone may ask again (`resolve`) until the resolution deadline.
    event ResolutionInconclusive(uint256 indexed marketId, uint256 indexed requestId);
    /// @dev The answer itself is not repeated here: it is in the coordinator's ResultDelivered, and
    /// copying an answer of any length would make the callback's gas depend on it.
    event MarketVoided(uint256 indexed marketId, VoidReason reason);
    event Claimed(uint256 indexed marketId, address indexed account, uint256 amount);

    /// @notice Gas each answer is delivered with: the costliest path (a resolution, all slots cold)
    /// takes under half of it, and no path reads more than a few bytes of the answer.
    uint32 public constant CALLBACK_GAS_LIMIT = 60_000;

    /// @dev The resolving input is INPUT_HEAD ++ question ++ INPUT_MIDDLE ++ evidence ++ INPUT_TAIL.
    bytes private constant INPUT_HEAD = "Question: ";
    bytes private constant INPUT_MIDDLE = "\nEvidence, reported after betting closed: ";
    bytes private constant INPUT_TAIL = "\nJudging only from the evidence, answer yes or no.";

    /// @notice The model that judges every market.
    bytes32 public immutable modelId;
    /// @notice Seconds after closesAt during which the reporter may post the evidence.
    uint64 public immutable reportWindow;
    /// @notice Seconds after the report deadline during which the model may be asked and answer.
    uint64 public immutable resolutionWindow;

    uint256 public marketCount;
    mapping(uint256 marketId => Market market) private _markets;
    mapping(uint256 requestId => uint256 marketId) private _marketOfRequest;
    mapping(uint256 marketId => mapping(address bettor => uint256 amount)) public yesStakeOf;
    mapping(uint256 marketId => mapping(address bettor => uint256 amount)) public noStakeOf;

    constructor(
        ISibylLog log,
        bytes32 modelId_,
        uint64 reportWindow_,
        uint64 resolutionWindow_
    ) SibylConsumer(log) {
        if (reportWindow_ == 0 || resolutionWindow_ == 0) {
            revert YesNoMarket__InvalidWindows(reportWindow_, resolutionWindow_);
        }
        modelId = modelId_;
        reportWindow = reportWindow_;
        resolutionWindow = resolutionWindow_;
    }

    /// @notice Opens a market on `question`, judged from the evidence `reporter` posts after
    /// `closesAt`. Refuses a question the coordinator would refuse, or a model too slow to answer
    /// within the resolution window.
    function create(
        string calldata question,
        address reporter,
        uint64 closesAt
    ) external returns (uint256 marketId) {
        _checkCanAsk(bytes(question).length);
        if (reporter == address(0)) revert YesNoMarket__InvalidReporter();
        if (closesAt <= block.timestamp) revert YesNoMarket__CloseInPast(closesAt, block.timestamp);
        marketId = ++marketCount;
        Market storage market = _markets[marketId];
        market.question = question;
        market.reporter = reporter;
        market.closesAt = closesAt;
        emit MarketCreated(marketId, question, reporter, closesAt);
    }

    function bet(uint256 marketId, bool yes) external payable {
        Market storage market = _market(marketId);
        if (block.timestamp >= market.closesAt) revert YesNoMarket__BettingClosed(marketId, market.closesAt);
        if (msg.value == 0) revert YesNoMarket__ZeroBet(marketId);
        if (yes) {
            market.yesPool += SafeCast.toUint128(msg.value);
            yesStakeOf[marketId][msg.sender] += msg.value;
        } else {
            market.noPool += SafeCast.toUint128(msg.value);
            noStakeOf[marketId][msg.sender] += msg.value;
        }
        emit BetPlaced(marketId, msg.sender, yes, msg.value);
    }

    /// @notice The reporter posts the evidence the model will judge from, once betting has closed.
    function report(uint256 marketId, string calldata evidence) external {
        Market storage market = _market(marketId);
        if (msg.sender != market.reporter) {
            revert YesNoMarket__NotReporter(marketId, msg.sender, market.reporter);
        }
        if (block.timestamp < market.closesAt) revert YesNoMarket__BettingOpen(marketId, market.closesAt);
        if (market.phase != Phase.Open) revert YesNoMarket__WrongPhase(marketId, market.phase);
        uint256 reportDeadline = _reportDeadline(market);
        if (block.timestamp > reportDeadline)
            revert YesNoMarket__ReportWindowClosed(marketId, reportDeadline);
        if (bytes(evidence).length == 0) revert YesNoMarket__EmptyEvidence(marketId);
        uint256 room = _roomAfter(
            _inputOverhead() + bytes(market.question).length,
            sibylCoordinator().modelOf(modelId).maxInputBytes
        );
        if (bytes(evidence).length > room) {
            revert YesNoMarket__EvidenceTooLong(marketId, bytes(evidence).length, room);
        }
        market.evidence = evidence;
        market.phase = Phase.Reported;
        emit EvidenceReported(marketId, evidence);
    }

    /// @notice The least `resolve` takes in this block; send more as headroom, the rest comes back.
    function resolveEscrow() external view returns (uint256) {
        return _sibylEscrowNow(modelId, CALLBACK_GAS_LIMIT);
    }

    /// @notice Asks the model to judge a reported market; anyone may pay for it, until the resolution
    /// deadline. All of msg.value is the request's escrow, and what delivery does not cost (all of it
    /// if the request expires and is cancelled, by anyone) is credited to the caller in the
    /// coordinator.
    /// @dev Open even while earlier requests are pending, so nobody can hold the market with a request
    /// operators will not serve (too little escrow for the gas price): the first answer decides, the
    /// others are delivered to a market that has ended and change nothing.
    function resolve(uint256 marketId) external payable returns (uint256 requestId) {
        Market storage market = _market(marketId);
        if (market.phase != Phase.Reported) revert YesNoMarket__WrongPhase(marketId, market.phase);
        uint256 resolutionDeadline = _resolutionDeadline(market);
        if (block.timestamp > resolutionDeadline) {
            revert YesNoMarket__ResolutionClosed(marketId, resolutionDeadline);
        }
        requestId = _requestSibyl(modelId, inputOf(marketId), CALLBACK_GAS_LIMIT, msg.value, msg.sender);
        _marketOfRequest[requestId] = marketId;
        emit ResolutionRequested(marketId, requestId, msg.sender);
    }

    /// @notice Voids a market nobody can resolve any more: unreported after the report deadline, or
    /// unresolved after the resolution deadline. Anyone may call; every bettor then claims their stake.
    function voidMarket(uint256 marketId) external {
        Market storage market = _market(marketId);
        Phase phase = market.phase;
        if (phase != Phase.Open && phase != Phase.Reported) revert YesNoMarket__WrongPhase(marketId, phase);
        uint256 voidableAfter = phase == Phase.Open ? _reportDeadline(market) : _resolutionDeadline(market);
        if (block.timestamp <= voidableAfter) revert YesNoMarket__NotVoidable(marketId, voidableAfter);
        _void(marketId, market, phase == Phase.Open ? VoidReason.NoReport : VoidReason.NotResolvedInTime);
    }

    /// @notice Pays out a resolved market's winnings, or every stake of a void market or of a resolved
    /// market nobody won.
    /// @dev A winner gets stake × pool / winning pool, rounded down: at most one wei per winner stays.
    function claim(uint256 marketId) external {
        Market storage market = _market(marketId);
        uint256 yesStake = yesStakeOf[marketId][msg.sender];
        uint256 noStake = noStakeOf[marketId][msg.sender];
        uint256 amount;
        if (market.phase == Phase.Voided || (market.phase == Phase.Resolved && _winningPool(market) == 0)) {
            amount = yesStake + noStake;
        } else if (market.phase == Phase.Resolved) {
            uint256 stake = market.outcome ? yesStake : noStake;
            amount = (stake * (uint256(market.yesPool) + market.noPool)) / _winningPool(market);
        } else {
            revert YesNoMarket__WrongPhase(marketId, market.phase);
        }
        if (amount == 0) revert YesNoMarket__NothingToClaim(marketId, msg.sender);
        yesStakeOf[marketId][msg.sender] = 0;
        noStakeOf[marketId][msg.sender] = 0;
        emit Claimed(marketId, msg.sender, amount);
        (bool success, ) = msg.sender.call{value: amount}("");
        if (!success) revert YesNoMarket__TransferFailed(msg.sender, amount);
    }

    function marketOf(uint256 marketId) external view returns (Market memory) {
        return _markets[marketId];
    }

    /// @notice The last moments the evidence may be reported and the model may answer.
    function deadlinesOf(
        uint256 marketId
    ) external view returns (uint256 reportDeadline, uint256 resolutionDeadline) {
        Market storage market = _market(marketId);
        return (_reportDeadline(market), _resolutionDeadline(market));
    }

    /// @notice The text the model judges: the question and the reported evidence, with the instruction.
    function inputOf(uint256 marketId) public view returns (bytes memory) {
        Market storage market = _market(marketId);
        return
            bytes.concat(
                INPUT_HEAD,
                bytes(market.question),
                INPUT_MIDDLE,
                bytes(market.evidence),
                INPUT_TAIL
            );
    }

    /// @notice The longest question the model takes now, leaving room for the framing and evidence.
    function maxQuestionBytes() external view returns (uint256) {
        return _roomAfter(_inputOverhead() + 1, sibylCoordinator().modelOf(modelId).maxInputBytes);
    }

    function parseAnswer(bytes calldata answer) external pure returns (YesNo) {
        return YesNoAnswer.parse(answer);
    }

    /// @dev Resolves or voids the market the request was for. Reads at most a few bytes of `output`
    /// and emits none of it, so any answer the coordinator lets through fits CALLBACK_GAS_LIMIT.
    function _onSibylResult(uint256 requestId, ResultStatus status, bytes calldata output) internal override {
        uint256 marketId = _marketOfRequest[requestId];
        Market storage market = _markets[marketId];
        // Market 0 (a request that is not a market's) is never Reported.
        if (market.phase != Phase.Reported) return;
        YesNo answer = status == ResultStatus.Ok ? YesNoAnswer.parse(output) : YesNo.Unknown;
        // After the deadline anyone may void: an answer landing then must not race that call.
        if (block.timestamp > _resolutionDeadline(market)) {
            _void(marketId, market, VoidReason.AnswerAfterDeadline);
        } else if (status == ResultStatus.NoConsensus) {
            emit ResolutionInconclusive(marketId, requestId);
        } else if (status != ResultStatus.Ok) {
            _void(marketId, market, VoidReason.ModelFailed);
        } else if (answer == YesNo.Unknown) {
            _void(marketId, market, VoidReason.UnclearAnswer);
        } else {
            market.phase = Phase.Resolved;
            market.outcome = answer == YesNo.Yes;
            emit MarketResolved(marketId, answer == YesNo.Yes);
        }
    }

    /// @dev The coordinator would refuse a request for a model it does not know or has disabled, with
    /// more callback gas than its cap, or with an input longer than the model takes: the question plus
    /// the framing plus at least one byte of evidence must fit.
    function _checkCanAsk(uint256 questionLength) private view {
        if (questionLength == 0) revert YesNoMarket__EmptyQuestion();
        Model memory model = sibylCoordinator().modelOf(modelId);
        if (model.timeout == 0) revert YesNoMarket__UnknownModel(modelId);
        if (!model.enabled) revert YesNoMarket__ModelDisabled(modelId);
        if (model.timeout >= resolutionWindow) {
            revert YesNoMarket__ModelTooSlow(modelId, model.timeout, resolutionWindow);
        }
        uint32 gasCap = sibylCoordinator().feeParameters().maxCallbackGasLimit;
        if (gasCap < CALLBACK_GAS_LIMIT) revert YesNoMarket__CallbackGasCapTooLow(gasCap, CALLBACK_GAS_LIMIT);
        uint256 room = _roomAfter(_inputOverhead() + 1, model.maxInputBytes);
        if (questionLength > room) revert YesNoMarket__QuestionTooLong(questionLength, room);
    }

    /// @dev What is left of `maxInputBytes` once `used` bytes are taken, zero if none.
    function _roomAfter(uint256 used, uint256 maxInputBytes) private pure returns (uint256) {
        return maxInputBytes > used ? maxInputBytes - used : 0;
    }

    function _void(uint256 marketId, Market storage market, VoidReason reason) private {
        market.phase = Phase.Voided;
        market.voidReason = reason;
        emit MarketVoided(marketId, reason);
    }

    function _market(uint256 marketId) private view returns (Market storage market) {
        market = _markets[marketId];
        if (market.closesAt == 0) revert YesNoMarket__UnknownMarket(marketId);
    }

    function _reportDeadline(Market storage market) private view returns (uint256) {
        return uint256(market.closesAt) + reportWindow;
    }

    function _resolutionDeadline(Market storage market) private view returns (uint256) {
        return _reportDeadline(market) + resolutionWindow;
    }

    function _inputOverhead() private pure returns (uint256) {
        return INPUT_HEAD.length + INPUT_MIDDLE.length + INPUT_TAIL.length;
    }

    function _winningPool(Market storage market) private view returns (uint256) {
        return market.outcome ? market.yesPool : market.noPool;
    }
}
