// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SibylConsumer} from "../consumer/SibylConsumer.sol";
import {ISibylCoordinator} from "../interfaces/ISibylCoordinator.sol";
import {ResultStatus} from "../interfaces/SibylTypes.sol";

/// @title YesNoMarket
/// @notice Parimutuel markets on yes/no questions, resolved by a model once betting closes. Winners
/// share the whole pool pro rata; a market whose answer is neither yes nor no (or an error) is void
/// and everyone gets their stake back.
contract YesNoMarket is SibylConsumer {
    enum Phase {
        Open,
        Resolving,
        Resolved,
        Voided
    }

    struct Market {
        string question;
        uint128 yesPool;
        uint128 noPool;
        uint64 closesAt;
        Phase phase;
        bool outcome;
        uint256 requestId;
    }

    error YesNoMarket__UnknownMarket(uint256 marketId);
    error YesNoMarket__CloseInPast(uint64 closesAt);
    error YesNoMarket__WrongPhase(uint256 marketId, Phase phase);
    error YesNoMarket__BettingClosed(uint256 marketId, uint64 closesAt);
    error YesNoMarket__BettingOpen(uint256 marketId, uint64 closesAt);
    error YesNoMarket__ResolutionPending(uint256 marketId, uint256 requestId);
    error YesNoMarket__ZeroBet(uint256 marketId);
    error YesNoMarket__PaymentTooLow(uint256 paid, uint256 fee);
    error YesNoMarket__NothingToClaim(uint256 marketId, address account);
    error YesNoMarket__TransferFailed(address to, uint256 amount);

    event MarketCreated(uint256 indexed marketId, string question, uint64 closesAt);
    event BetPlaced(uint256 indexed marketId, address indexed bettor, bool yes, uint256 amount);
    event ResolutionRequested(uint256 indexed marketId, uint256 indexed requestId);
    event MarketResolved(uint256 indexed marketId, bool outcome);
    event MarketVoided(uint256 indexed marketId, ResultStatus status, bytes answer);
    event Claimed(uint256 indexed marketId, address indexed account, uint256 amount);

    /// @notice The model that answers every market's question.
    bytes32 public immutable modelId;
    uint32 public constant CALLBACK_GAS_LIMIT = 100_000;

    uint256 public marketCount;
    mapping(uint256 marketId => Market market) private _markets;
    mapping(uint256 requestId => uint256 marketId) private _marketOfRequest;
    mapping(uint256 marketId => mapping(address bettor => uint256 amount)) public yesStakeOf;
    mapping(uint256 marketId => mapping(address bettor => uint256 amount)) public noStakeOf;

    constructor(ISibylCoordinator coordinator, bytes32 modelId_) SibylConsumer(coordinator) {
        modelId = modelId_;
    }

    function create(string calldata question, uint64 closesAt) external returns (uint256 marketId) {
        if (closesAt <= block.timestamp) revert YesNoMarket__CloseInPast(closesAt);
        marketId = ++marketCount;
        Market storage market = _markets[marketId];
        market.question = question;
        market.closesAt = closesAt;
        emit MarketCreated(marketId, question, closesAt);
    }

    function bet(uint256 marketId, bool yes) external payable {
        Market storage market = _market(marketId);
        if (market.phase != Phase.Open) revert YesNoMarket__WrongPhase(marketId, market.phase);
        if (block.timestamp >= market.closesAt) revert YesNoMarket__BettingClosed(marketId, market.closesAt);
        if (msg.value == 0) revert YesNoMarket__ZeroBet(marketId);
        if (yes) {
            market.yesPool += uint128(msg.value);
            yesStakeOf[marketId][msg.sender] += msg.value;
        } else {
            market.noPool += uint128(msg.value);
            noStakeOf[marketId][msg.sender] += msg.value;
        }
        emit BetPlaced(marketId, msg.sender, yes, msg.value);
    }

    /// @notice The fee `resolve` needs right now.
    function resolveFee() external view returns (uint256) {
        return _sibylEscrowNow(modelId, CALLBACK_GAS_LIMIT);
    }

    /// @notice Asks the model for the outcome once betting has closed; the caller pays the fee (the rest
    /// comes back). Callable again if an earlier request expired unanswered and was cancelled; fees
    /// refunded from cancelled requests pay towards it first.
    function resolve(uint256 marketId) external payable returns (uint256 requestId) {
        Market storage market = _market(marketId);
        if (block.timestamp < market.closesAt) revert YesNoMarket__BettingOpen(marketId, market.closesAt);
        if (market.phase == Phase.Resolving && sibylCoordinator.commitmentOf(market.requestId) != 0) {
            revert YesNoMarket__ResolutionPending(marketId, market.requestId);
        }
        if (market.phase != Phase.Open && market.phase != Phase.Resolving) {
            revert YesNoMarket__WrongPhase(marketId, market.phase);
        }
        requestId = _requestSibyl(modelId, bytes(market.question), CALLBACK_GAS_LIMIT, msg.value, msg.sender);
        market.phase = Phase.Resolving;
        market.requestId = requestId;
        _marketOfRequest[requestId] = marketId;
        emit ResolutionRequested(marketId, requestId);
    }

    /// @notice Pays out a resolved market's winnings or a voided market's stakes.
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
        _send(msg.sender, amount);
    }

    function marketOf(uint256 marketId) external view returns (Market memory) {
        return _markets[marketId];
    }

    function _onSibylResult(uint256 requestId, ResultStatus status, bytes calldata output) internal override {
        uint256 marketId = _marketOfRequest[requestId];
        Market storage market = _markets[marketId];
        if (market.phase != Phase.Resolving || market.requestId != requestId) return;
        (bool known, bool yes) = status == ResultStatus.Ok ? parseYesNo(output) : (false, false);
        if (known) {
            market.phase = Phase.Resolved;
            market.outcome = yes;
            emit MarketResolved(marketId, yes);
        } else {
            market.phase = Phase.Voided;
            emit MarketVoided(marketId, status, output);
        }
    }

    /// @notice Reads "yes" or "no" (any case, surrounding spaces and a final period allowed).
    function parseYesNo(bytes calldata answer) public pure returns (bool known, bool yes) {
        uint256 start;
        uint256 end = answer.length;
        while (start < end && _isSpace(answer[start])) ++start;
        while (end > start && (_isSpace(answer[end - 1]) || answer[end - 1] == ".")) --end;
        bytes memory word = new bytes(end - start);
        for (uint256 i; i < word.length; ++i) {
            bytes1 char = answer[start + i];
            word[i] = char >= "A" && char <= "Z" ? bytes1(uint8(char) + 32) : char;
        }
        if (keccak256(word) == keccak256("yes")) return (true, true);
        if (keccak256(word) == keccak256("no")) return (true, false);
        return (false, false);
    }

    function _market(uint256 marketId) private view returns (Market storage market) {
        market = _markets[marketId];
        if (market.closesAt == 0) revert YesNoMarket__UnknownMarket(marketId);
    }

    function _winningPool(Market storage market) private view returns (uint256) {
        return market.outcome ? market.yesPool : market.noPool;
    }

    function _isSpace(bytes1 char) private pure returns (bool) {
        return char == " " || char == "\n" || char == "\t" || char == "\r";
    }

    function _send(address to, uint256 amount) private {
        (bool success, ) = to.call{value: amount}("");
        if (!success) revert YesNoMarket__TransferFailed(to, amount);
    }
}
