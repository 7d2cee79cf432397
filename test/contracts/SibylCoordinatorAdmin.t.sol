// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IOperatorLedger} from "../../contracts/interfaces/IOperatorLedger.sol";
import {ISibylCoordinator} from "../../contracts/interfaces/ISibylCoordinator.sol";
import {ISibylLog} from "../../contracts/interfaces/ISibylLog.sol";
import {
    FeeParameters,
    Model,
    Operator,
    OperatorParameters,
    RequestCommitment
} from "../../contracts/interfaces/SibylTypes.sol";
import {MockBatchVerifier} from "../../contracts/mocks/MockBatchVerifier.sol";
import {SettlementFixture} from "./utils/SettlementFixture.sol";

/// @dev Accepts no ether, to show a failed withdrawal keeps the balance.
contract EtherRefuser {
    function withdrawFrom(ISibylCoordinator coordinator) external {
        coordinator.withdraw();
    }

    function ask(ISibylCoordinator coordinator, bytes32 modelId) external payable {
        coordinator.request{value: msg.value}(modelId, "hi", 0, address(this));
    }
}

contract SibylCoordinatorAdminTest is SettlementFixture {
    address internal stranger = address(0xD00D);

    // ─── Operators ─────────────────────────────────────────────────────────────────────────────────

    function test_registerOperator_stakeBelowMinimum() public {
        vm.deal(stranger, 1 ether);
        vm.expectRevert(
            abi.encodeWithSelector(IOperatorLedger.StakeTooLow.selector, MIN_STAKE - 1, MIN_STAKE)
        );
        vm.prank(stranger);
        ledger.registerOperator{value: MIN_STAKE - 1}();
    }

    function test_registerOperator_twice() public {
        vm.expectRevert(abi.encodeWithSelector(IOperatorLedger.OperatorAlreadyActive.selector, operator));
        vm.prank(operator);
        ledger.registerOperator{value: 1}();
    }

    function test_registerOperator_zeroMinimumForLocalDev() public {
        ledger.setOperatorParameters(
            OperatorParameters({
                minStake: 0,
                unbondingDelay: 0,
                exclusiveWindow: 0,
                livenessPenalty: 0,
                equivocationSlashBps: 0
            })
        );
        vm.prank(stranger);
        ledger.registerOperator();
        assertTrue(ledger.operatorOf(stranger).active, "active with no stake");
    }

    function test_operatorLifecycle_exitUnbondWithdrawRejoin() public {
        vm.prank(operator);
        ledger.requestOperatorExit();
        Operator memory exited = ledger.operatorOf(operator);
        assertTrue(!exited.active, "inactive");
        assertEq(exited.unlockAt, block.timestamp + UNBONDING, "unlock time");

        vm.expectRevert(
            abi.encodeWithSelector(IOperatorLedger.StakeLocked.selector, operator, exited.unlockAt)
        );
        vm.prank(operator);
        ledger.withdrawStake();

        vm.warp(exited.unlockAt);
        uint256 balanceBefore = operator.balance;
        vm.prank(operator);
        ledger.withdrawStake();
        assertEq(operator.balance, balanceBefore + MIN_STAKE, "stake returned");
        assertEq(ledger.operatorOf(operator).stake, 0, "stake cleared");

        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.NothingToWithdraw.selector, operator));
        vm.prank(operator);
        ledger.withdrawStake();

        vm.prank(operator);
        ledger.registerOperator{value: MIN_STAKE}();
        assertTrue(ledger.operatorOf(operator).active, "rejoined");
    }

    function test_withdrawStake_whileActive() public {
        vm.expectRevert(abi.encodeWithSelector(IOperatorLedger.StakeLocked.selector, operator, 0));
        vm.prank(operator);
        ledger.withdrawStake();
    }

    function test_requestOperatorExit_notOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IOperatorLedger.NotActiveOperator.selector, stranger));
        vm.prank(stranger);
        ledger.requestOperatorExit();
    }

    // ─── Balances ──────────────────────────────────────────────────────────────────────────────────

    function test_withdraw_paysEarningsOnce() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        _fulfill(_single(_fulfillment(commitment, "ok")));
        uint256 before = operator.balance;
        uint256 earned = coordinator.balanceOf(operator);
        assertGe(earned, MODEL_FEE, "earned at least the model fee");
        vm.prank(operator);
        coordinator.withdraw();
        assertEq(operator.balance, before + earned, "earnings paid");
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.NothingToWithdraw.selector, operator));
        vm.prank(operator);
        coordinator.withdraw();
    }

    function test_withdraw_worksWhilePaused() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        vm.warp(commitment.deadline + 1);
        coordinator.cancel(commitment);
        coordinator.pause();
        vm.prank(requester);
        coordinator.withdraw();
        assertEq(coordinator.balanceOf(requester), 0, "refund withdrawn while paused");
    }

    function test_withdraw_failedTransferKeepsBalance() public {
        EtherRefuser refuser = new EtherRefuser();
        uint256 escrow = _escrowNow(0);
        vm.recordLogs();
        refuser.ask{value: escrow}(coordinator, MODEL_ID);
        RequestCommitment memory commitment = _requested(vm.getRecordedLogs());
        vm.warp(commitment.deadline + 1);
        coordinator.cancel(commitment);
        assertEq(coordinator.balanceOf(address(refuser)), escrow, "refund credited");
        vm.expectRevert(
            abi.encodeWithSelector(ISibylCoordinator.TransferFailed.selector, address(refuser), escrow)
        );
        refuser.withdrawFrom(coordinator);
        assertEq(coordinator.balanceOf(address(refuser)), escrow, "kept");
    }

    // ─── Owner ─────────────────────────────────────────────────────────────────────────────────────

    function test_registerModel_duplicate() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.ModelAlreadyRegistered.selector, MODEL_ID));
        coordinator.registerModel(MODEL_ID, _model());
    }

    function test_registerModel_invalidLimits() public {
        Model memory model = _model();
        model.timeout = 0;
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.InvalidModelLimits.selector,
                bytes32("m2"),
                MAX_INPUT,
                MAX_OUTPUT,
                0
            )
        );
        coordinator.registerModel("m2", model);
        model = _model();
        model.maxOutputBytes = 0;
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.InvalidModelLimits.selector,
                bytes32("m2"),
                MAX_INPUT,
                0,
                TIMEOUT
            )
        );
        coordinator.registerModel("m2", model);
    }

    function test_updateModel_unknown() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylCoordinator.UnknownModel.selector, bytes32("m2")));
        coordinator.updateModel("m2", _model());
    }

    function test_updateModel_doesNotChangePendingRequests() public {
        RequestCommitment memory commitment = _request(requester, "hi", 0);
        Model memory model = _model();
        model.maxOutputBytes = 1;
        model.fee = 1;
        coordinator.updateModel(MODEL_ID, model);
        assertEq(coordinator.modelOf(MODEL_ID).fee, 1, "updated");
        // The request keeps the limit and the escrow it was made under.
        _fulfill(_single(_fulfillment(commitment, "longer than one byte")));
        assertEq(coordinator.commitmentOf(commitment.requestId), bytes32(0), "delivered");
    }

    function test_setVerifier_keepsSizesSortedAndRemoves() public {
        uint256[] memory sizes = log.batchSizes();
        assertEq(sizes.length, 4, "four sizes");
        assertEq(
            sizes[0] * 1000 + sizes[1] * 100 + sizes[2] * 10 + sizes[3],
            1000 + 400 + 160 + 64,
            "sorted"
        );
        log.setVerifier(2, address(new MockBatchVerifier(2)));
        sizes = log.batchSizes();
        assertEq(sizes[1], 2, "inserted in order");
        log.setVerifier(4, address(0));
        sizes = log.batchSizes();
        assertEq(sizes.length, 4, "removed one");
        assertEq(sizes[2], 16, "order kept");
        assertEq(address(log.verifierFor(4)), address(0), "cleared");
    }

    function test_setVerifier_invalidSizeOrMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.InvalidBatchSize.selector, 3));
        log.setVerifier(3, address(0));
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.InvalidBatchSize.selector, 0));
        log.setVerifier(0, address(0));
        address wrong = address(new MockBatchVerifier(16));
        vm.expectRevert(abi.encodeWithSelector(ISibylLog.VerifierBatchSizeMismatch.selector, 8, 16));
        log.setVerifier(8, wrong);
    }

    function test_setFeeParameters_changesFees() public {
        FeeParameters memory fees = FeeParameters({
            deliveryGas: 0,
            gasPerOutputByte: 0,
            minGasPrice: 2 gwei,
            maxPriorityFeePerGas: 0,
            maxCallbackGasLimit: 10,
            proofGasPerLeaf: 5
        });
        coordinator.setFeeParameters(fees);
        assertEq(coordinator.estimateFee(MODEL_ID, 10, 0), MODEL_FEE + (10 + 5) * 2 gwei, "new parameters");
        assertEq(coordinator.feeParameters().maxCallbackGasLimit, 10, "cap");
    }

    function test_setFeeParameters_callbackGasCapAboveWhatFitsATransaction() public {
        FeeParameters memory fees = _feeParameters();
        uint32 limit = coordinator.MAX_CALLBACK_GAS_LIMIT();
        fees.maxCallbackGasLimit = limit + 1;
        vm.expectRevert(
            abi.encodeWithSelector(ISibylCoordinator.CallbackGasCapTooHigh.selector, limit + 1, limit)
        );
        coordinator.setFeeParameters(fees);
        fees.maxCallbackGasLimit = limit;
        coordinator.setFeeParameters(fees);
        assertEq(coordinator.feeParameters().maxCallbackGasLimit, limit, "the cap itself is allowed");
    }

    function test_registerModel_outputAboveWhatFitsATransaction() public {
        Model memory model = _model();
        uint32 limit = coordinator.MAX_OUTPUT_BYTES();
        model.maxOutputBytes = limit + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.InvalidModelLimits.selector,
                bytes32("m2"),
                MAX_INPUT,
                limit + 1,
                TIMEOUT
            )
        );
        coordinator.registerModel("m2", model);
        vm.expectRevert(
            abi.encodeWithSelector(
                ISibylCoordinator.InvalidModelLimits.selector,
                MODEL_ID,
                MAX_INPUT,
                limit + 1,
                TIMEOUT
            )
        );
        coordinator.updateModel(MODEL_ID, model);
        model.maxOutputBytes = limit;
        coordinator.registerModel("m2", model);
    }

    function test_setOperatorParameters_unbondingDelayTooLong() public {
        uint64 limit = ledger.MAX_OPERATOR_DELAY();
        OperatorParameters memory parameters = _operatorParameters();
        parameters.unbondingDelay = limit + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IOperatorLedger.OperatorDelayTooLong.selector, limit + 1, limit)
        );
        ledger.setOperatorParameters(parameters);
        parameters.unbondingDelay = type(uint64).max;
        vm.expectRevert(
            abi.encodeWithSelector(IOperatorLedger.OperatorDelayTooLong.selector, type(uint64).max, limit)
        );
        ledger.setOperatorParameters(parameters);
    }

    function test_setOperatorParameters_exclusiveWindowTooLong() public {
        uint64 limit = ledger.MAX_OPERATOR_DELAY();
        OperatorParameters memory parameters = _operatorParameters();
        parameters.exclusiveWindow = limit + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IOperatorLedger.OperatorDelayTooLong.selector, limit + 1, limit)
        );
        ledger.setOperatorParameters(parameters);
    }

    function test_requestOperatorExit_longestDelayDoesNotOverflowOrTrapTheStake() public {
        uint64 limit = ledger.MAX_OPERATOR_DELAY();
        ledger.setOperatorParameters(
            OperatorParameters({
                minStake: MIN_STAKE,
                unbondingDelay: limit,
                exclusiveWindow: limit,
                livenessPenalty: 0,
                equivocationSlashBps: 0
            })
        );
        // Far in the future, where an unbounded delay used to overflow uint64.
        vm.warp(type(uint64).max - limit - 1);
        vm.prank(operator);
        ledger.requestOperatorExit();
        Operator memory exited = ledger.operatorOf(operator);
        assertEq(exited.unlockAt, block.timestamp + limit, "unlocks after the delay");
        vm.warp(exited.unlockAt);
        uint256 before = operator.balance;
        vm.prank(operator);
        ledger.withdrawStake();
        assertEq(operator.balance, before + MIN_STAKE, "stake returned");
    }

    function test_ownerFunctions_onlyOwner() public {
        bytes memory unauthorized = abi.encodeWithSelector(
            Ownable.OwnableUnauthorizedAccount.selector,
            stranger
        );
        vm.startPrank(stranger);
        vm.expectRevert(unauthorized);
        coordinator.registerModel("m2", _model());
        vm.expectRevert(unauthorized);
        coordinator.updateModel(MODEL_ID, _model());
        vm.expectRevert(unauthorized);
        log.setVerifier(1, address(0));
        vm.expectRevert(unauthorized);
        coordinator.setFeeParameters(_feeParameters());
        vm.expectRevert(unauthorized);
        ledger.setOperatorParameters(_operatorParameters());
        vm.expectRevert(unauthorized);
        coordinator.pause();
        vm.expectRevert(unauthorized);
        coordinator.unpause();
        vm.stopPrank();
    }

    function test_ownership_isTwoStep() public {
        coordinator.transferOwnership(stranger);
        assertEq(coordinator.owner(), address(this), "not yet");
        vm.prank(stranger);
        coordinator.acceptOwnership();
        assertEq(coordinator.owner(), stranger, "accepted");
    }
}
